package plan

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// ErrExists is returned by WriteFile when the file exists and overwrite was
// not asked for.
var ErrExists = errors.New("file exists")

// Marshal writes the plan as YAML that Parse reads back to the same plan:
// fields in a fixed order, the plan's, waves' and hosts' Comment as comment
// lines above them.
func (p *Plan) Marshal() ([]byte, error) {
	var n yaml.Node
	if err := n.Encode(p); err != nil {
		return nil, fmt.Errorf("plan: encode: %w", err)
	}
	n.HeadComment = commentText(p.Comment)
	if waves := mapValue(&n, "waves"); waves != nil && waves.Kind == yaml.SequenceNode {
		for i, wn := range waves.Content {
			if i >= len(p.Waves) {
				break
			}
			wn.HeadComment = commentText(p.Waves[i].Comment)
			hosts := mapValue(wn, "hosts")
			if hosts == nil {
				continue
			}
			for j, hn := range hosts.Content {
				if j < len(p.Waves[i].Hosts) {
					hn.HeadComment = commentText(p.Waves[i].Hosts[j].Comment)
				}
			}
		}
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, fmt.Errorf("plan: encode: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("plan: encode: %w", err)
	}
	return buf.Bytes(), nil
}

// commentText turns free text into YAML comment lines. Text already in
// comment form (as Parse keeps it) is left as it is.
func commentText(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, "#") {
			lines[i] = strings.TrimRight("# "+l, " ")
		}
	}
	return strings.Join(lines, "\n")
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// WriteFile writes the plan to path atomically: a reader sees the old file
// or the whole new one, never a part. Without overwrite it refuses an
// existing file with an error wrapping ErrExists.
func (p *Plan) WriteFile(path string, overwrite bool) error {
	b, err := p.Marshal()
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".plan-*.yaml")
	if err != nil {
		return fmt.Errorf("write plan %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err != nil {
		return fmt.Errorf("write plan %s: %w", path, err)
	}
	if overwrite {
		err = os.Rename(tmp.Name(), path)
	} else if err = os.Link(tmp.Name(), path); errors.Is(err, os.ErrExist) {
		return fmt.Errorf("write plan %s: %w", path, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("write plan %s: %w", path, err)
	}
	return nil
}
