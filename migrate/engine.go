package migrate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/shift-migrate/shift/discover"
	"github.com/shift-migrate/shift/inventory"
	"github.com/shift-migrate/shift/migrate/face"
	"github.com/shift-migrate/shift/remote"
)

// Engine runs the steps of a migration for a face (the wizard, the CLI).
// Long steps start a run and return its events on a channel at once; short
// ones (loading and saving files) return their result. The zero value is
// usable; set the fields before the first call and do not change them after.
type Engine struct {
	// Generator is recorded in inventories ("shift 0.1.0"); empty means "shift".
	Generator string
	// Concurrency is how many hosts discovery probes at once; 0 means
	// discover.DefaultConcurrency.
	Concurrency int
	// Timeout bounds the discovery of one host; 0 means the hosts file's, else
	// discover.DefaultTimeout.
	Timeout time.Duration
	// TrustOnFirstUse records unknown SSH host keys instead of failing.
	TrustOnFirstUse bool
	// KnownHosts replaces every SSH host's known_hosts file when set.
	KnownHosts string
	// Assessor assesses inventories and exports reports; nil means none is
	// available, and Assess ends with ErrNoAssessor. cmd/shift sets it to an
	// adapter over assess.Assess and assess/report, which only cmd/shift
	// imports.
	Assessor Assessor
	// Migration is what moving servers needs (Migrate); the zero value
	// cannot copy disks.
	Migration MigrationSetup
	// Logger receives diagnostics; nil means discard.
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time

	lastID atomic.Uint64
}

// Assessor turns an inventory into verdicts and exports reports. It is the
// seam between the engine and package assess.
type Assessor interface {
	// Assess judges every host of inv.
	Assess(ctx context.Context, inv *inventory.Inventory) (*face.Assessment, error)
	// Export writes a's report to path in the format its extension names.
	Export(path string, a *face.Assessment) error
}

// ErrNoAssessor is the error of Assess and ExportReport when the engine has
// no Assessor.
var ErrNoAssessor = errors.New("assessment is not available in this build")

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Engine) newRun() *emitter { return newEmitter(face.RunID(e.lastID.Add(1))) }

// LoadHosts reads a hosts file and returns its hosts as specs, each with its
// own settings (not the group's or the defaults') and its origin.
func (e *Engine) LoadHosts(path string) ([]face.HostSpec, error) {
	hf, err := remote.LoadHosts(path)
	if err != nil {
		return nil, err
	}
	out := make([]face.HostSpec, 0, len(hf.Hosts))
	for _, h := range hf.Hosts {
		out = append(out, specOf(hf, h))
	}
	return out, nil
}

func specOf(hf *remote.HostsFile, h remote.HostEntry) face.HostSpec {
	s := face.HostSpec{Name: h.Name, Address: h.Address, Group: h.Group, Transport: h.Transport,
		User: h.User, Port: h.Port, Password: string(h.Password), Key: string(h.Key),
		Origin: fmt.Sprintf("%s:%d", filepath.Base(hf.Path), h.Line)}
	if h.Group != "" {
		g := hf.Groups[h.Group]
		s.Transport = cmp(s.Transport, g.Transport)
		s.User = cmp(s.User, g.User)
	}
	s.Transport = cmp(s.Transport, hf.Defaults.Transport)
	s.User = cmp(s.User, hf.Defaults.User)
	return s
}

func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// CheckHosts checks that the hosts of base (a hosts file; "" for none) plus
// added make a valid hosts file, by the same rules discovery applies. The
// error names the first bad host and what to fix, without a file position.
func (e *Engine) CheckHosts(base string, added []face.HostSpec) error {
	_, err := e.merged(base, added)
	return err
}

// SaveHosts writes the hosts of base (a hosts file; "" for none) plus added
// to path, atomically. base's defaults, groups and hosts are kept as they are;
// relative paths inside them stay relative to base's directory, so save next
// to base when it uses any.
func (e *Engine) SaveHosts(path, base string, added []face.HostSpec) error {
	hf, err := e.merged(base, added)
	if err != nil {
		return err
	}
	if err := remote.WriteHosts(path, hf.Defaults, hf.Groups, hf.Hosts); err != nil {
		return fmt.Errorf("save hosts file %s: %w", path, err)
	}
	return nil
}

// hostsDoc mirrors the hosts-file layout remote reads.
type hostsDoc struct {
	Version  int                        `yaml:"version"`
	Defaults remote.Settings            `yaml:"defaults"`
	Groups   map[string]remote.Settings `yaml:"groups,omitempty"`
	Hosts    []remote.HostEntry         `yaml:"hosts"`
}

func (e *Engine) merged(base string, added []face.HostSpec) (*remote.HostsFile, error) {
	doc := hostsDoc{Version: remote.HostsFileVersion}
	if base != "" {
		hf, err := remote.LoadHosts(base)
		if err != nil {
			return nil, err
		}
		doc.Defaults, doc.Groups, doc.Hosts = hf.Defaults, hf.Groups, hf.Hosts
	}
	for _, s := range added {
		doc.Hosts = append(doc.Hosts, remote.HostEntry{Name: s.Name, Address: s.Address, Group: s.Group,
			Settings: remote.Settings{Transport: s.Transport, Port: s.Port, User: s.User,
				Password: remote.SecretRef(s.Password), Key: remote.SecretRef(s.Key)}})
	}
	if len(doc.Hosts) == 0 {
		return nil, face.ErrNoHosts
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("hosts: %w", err)
	}
	name := base
	if name == "" {
		name = "hosts.yaml"
	}
	hf, err := remote.ParseHosts(name, buf.Bytes())
	if err != nil {
		var he *remote.HostsError
		if errors.As(err, &he) {
			return nil, errors.New(he.Msg)
		}
		return nil, err
	}
	return hf, nil
}

// Discover starts discovering the named hosts of hostsFile (every host when
// names is empty) and returns the run's events: face.HostStarted and
// face.HostDone per host, then one face.DiscoveryDone carrying the
// inventory, after which the channel closes. Canceling ctx stops the run; the
// hosts not finished carry a "canceled" error and DiscoveryDone still comes.
// The caller must read the channel until it closes.
func (e *Engine) Discover(ctx context.Context, hostsFile string, names []string) <-chan face.Event {
	em := e.newRun()
	go func() {
		defer em.close()
		start := e.now()
		hf, err := remote.LoadHosts(hostsFile)
		if err != nil {
			em.emit(face.DiscoveryDone{ID: em.id, Err: err})
			return
		}
		total := len(names)
		if total == 0 {
			total = len(hf.Hosts)
		}
		gen := e.Generator
		if gen == "" {
			gen = "shift"
		}
		inv, err := discover.Run(ctx, hf, names, discover.Options{
			Concurrency: e.Concurrency,
			Timeout:     e.Timeout,
			Overrides:   remote.Overrides{TrustOnFirstUse: e.TrustOnFirstUse, KnownHosts: e.KnownHosts},
			Reporter:    &discoverReporter{em: em, now: e.now, total: total},
			Logger:      e.Logger,
			Generator:   gen,
			Now:         e.Now,
		})
		em.emit(face.DiscoveryDone{ID: em.id, Inventory: inv, Err: err, Canceled: ctx.Err() != nil, Took: e.now().Sub(start)})
	}()
	return em.ch
}

// Assess starts assessing inv and returns the run's events: one
// face.AssessmentDone, after which the channel closes.
func (e *Engine) Assess(ctx context.Context, inv *inventory.Inventory) <-chan face.Event {
	em := e.newRun()
	go func() {
		defer em.close()
		if e.Assessor == nil {
			em.emit(face.AssessmentDone{ID: em.id, Err: ErrNoAssessor})
			return
		}
		a, err := e.Assessor.Assess(ctx, inv)
		if err != nil {
			err = fmt.Errorf("assess: %w", err)
		}
		em.emit(face.AssessmentDone{ID: em.id, Assessment: a, Err: err})
	}()
	return em.ch
}

// SaveInventory writes inv to path as JSON, atomically: a half-written
// inventory never replaces a good one.
func (e *Engine) SaveInventory(path string, inv *inventory.Inventory) error {
	return writeAtomic(path, "inventory", func(f *os.File) error { return inv.Write(f) })
}

// ExportReport writes a's report to path; the extension picks the format.
func (e *Engine) ExportReport(path string, a *face.Assessment) error {
	if e.Assessor == nil {
		return ErrNoAssessor
	}
	if err := e.Assessor.Export(path, a); err != nil {
		return fmt.Errorf("export report %s: %w", path, err)
	}
	return nil
}

func writeAtomic(path, what string, write func(*os.File) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+strings.ReplaceAll(filepath.Base(path), "*", "")+"-*")
	if err != nil {
		return fmt.Errorf("write %s %s: %w", what, path, err)
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s %s: %w", what, path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s %s: %w", what, path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s %s: %w", what, path, err)
	}
	return nil
}
