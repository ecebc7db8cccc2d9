package shift_test

// The package arrows of the design, enforced. Each rule names a package (and
// its subpackages) and what it must never depend on, directly or through
// another package. Test files are not counted: tests may import fixtures.

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/shift-migrate/shift"

type rule struct {
	pkg    string   // package path relative to the module; "x/..." includes subpackages
	never  []string // forbidden dependencies: module-relative, or full import paths
	reason string
}

var domain = []string{"tui", "cmd/...", "fixtures/...", "charm.land/..."}

var rules = []rule{
	{"inventory", []string{"..."}, "inventory is the model everyone imports; it imports no other package of shift"},
	{"disk", []string{"..."}, "disk holds the types the disk packages share; it imports no other package of shift"},
	{"remote", []string{"discover/...", "transfer/...", "validate/...", "migrate/...", "assess/...", "convert/...", "cloud/...", "tui", "cmd/...", "fixtures/..."}, "remote sits below discover, transfer and validate"},
	{"discover/...", append([]string{"cloud/...", "transfer/...", "validate/...", "convert/...", "migrate/...", "assess/..."}, domain...), "discover meets transfer and validate only in migrate"},
	{"convert/...", append([]string{"discover/...", "transfer/...", "validate/..."}, domain...), "convert, discover and transfer do not import each other"},
	{"transfer/...", append([]string{"discover/...", "convert/...", "validate/..."}, domain...), "transfer never imports discover or convert"},
	{"validate/...", append([]string{"discover/...", "transfer/..."}, domain...), "validate never imports discover or transfer"},
	{"assess/...", append([]string{"transfer/...", "discover/...", "cloud/..."}, domain...), "assess works on inventories"},
	{"cloud/...", domain, "cloud targets are libraries"},
	{"migrate/...", domain, "migrate is the engine both faces drive"},
	{"tui/...", []string{"cloud/...", "remote", "discover/...", "transfer/...", "golang.org/x/crypto/ssh", "github.com/masterzen/winrm", "github.com/Azure/...", "fixtures/..."}, "the wizard talks to migrate through events"},
}

type pkgInfo struct {
	ImportPath string
	Deps       []string
}

func listPackages(t *testing.T) []pkgInfo {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Deps", "./...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var pkgs []pkgInfo
	for {
		var p pkgInfo
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// match reports whether import path p matches pattern pat (module-relative
// unless it has a dot in its first element; "x/..." matches x and below; "..."
// alone matches every package of the module).
func match(pat, p string) bool {
	full := pat
	if pat == "..." {
		return strings.HasPrefix(p, module+"/")
	}
	if first, _, _ := strings.Cut(pat, "/"); !strings.Contains(first, ".") {
		full = module + "/" + pat
	}
	if base, ok := strings.CutSuffix(full, "/..."); ok {
		return p == base || strings.HasPrefix(p, base+"/")
	}
	return p == full
}

func TestPackageArrows(t *testing.T) {
	pkgs := listPackages(t)
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	checked := 0
	for _, r := range rules {
		for _, p := range pkgs {
			if !match(r.pkg, p.ImportPath) {
				continue
			}
			checked++
			for _, d := range p.Deps {
				for _, bad := range r.never {
					if match(bad, d) && d != p.ImportPath {
						t.Errorf("%s depends on %s: %s", p.ImportPath, d, r.reason)
					}
				}
			}
		}
	}
	if checked < len(rules) {
		t.Fatalf("rules matched only %d packages", checked)
	}
}

// The rule matcher itself, so that a typo in a pattern cannot make the test
// pass vacuously.
func TestArrowMatcher(t *testing.T) {
	for _, c := range []struct {
		pat, path string
		want      bool
	}{
		{"tui", module + "/tui", true},
		{"tui", module + "/tuix", false},
		{"discover/...", module + "/discover", true},
		{"discover/...", module + "/discover/ssh", true},
		{"...", module + "/remote", true},
		{"...", "fmt", false},
		{"charm.land/...", "charm.land/bubbletea/v2", true},
		{"golang.org/x/crypto/ssh", "golang.org/x/crypto/ssh", true},
		{"golang.org/x/crypto/ssh", "golang.org/x/crypto/sha3", false},
	} {
		if got := match(c.pat, c.path); got != c.want {
			t.Errorf("match(%q, %q) = %v", c.pat, c.path, got)
		}
	}
}
