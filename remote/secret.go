package remote

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// Secret holds a password, passphrase or private key. It never prints, logs or
// serialises its value: every formatting path yields "[redacted]". Reveal is
// the one way to read it.
type Secret struct {
	v string
}

// NewSecret wraps a value.
func NewSecret(v string) Secret { return Secret{v: v} }

// Reveal returns the secret value. Call it only where the value is handed to a
// protocol.
func (s Secret) Reveal() string { return s.v }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.v == "" }

const redacted = "[redacted]"

func (s Secret) String() string                { return redacted }
func (s Secret) GoString() string              { return redacted }
func (s Secret) Format(f fmt.State, verb rune) { fmt.Fprint(f, redacted) }
func (s Secret) MarshalJSON() ([]byte, error)  { return []byte(`"` + redacted + `"`), nil }
func (s Secret) MarshalText() ([]byte, error)  { return []byte(redacted), nil }
func (s Secret) LogValue() slog.Value          { return slog.StringValue(redacted) }

// SecretRef is how a hosts file names a secret without containing it:
//
//	env:NAME    the value of environment variable NAME
//	file:PATH   the contents of PATH (one trailing newline is dropped; a
//	            relative PATH is relative to the hosts file, ~ is the home dir)
//
// A literal value is refused: secrets do not belong in hosts files.
type SecretRef string

// Resolve reads the secret the reference names. base is the directory that
// relative file paths are resolved against. Errors name the reference, never
// the value.
func (r SecretRef) Resolve(base string) (Secret, error) {
	ref := string(r)
	switch {
	case ref == "":
		return Secret{}, nil
	case strings.HasPrefix(ref, "env:"):
		name := strings.TrimPrefix(ref, "env:")
		if name == "" {
			return Secret{}, fmt.Errorf("secret reference %q names no variable", ref)
		}
		v, ok := os.LookupEnv(name)
		if !ok {
			return Secret{}, fmt.Errorf("secret reference %q: environment variable %s is not set", ref, name)
		}
		if v == "" {
			return Secret{}, fmt.Errorf("secret reference %q: environment variable %s is empty", ref, name)
		}
		return NewSecret(v), nil
	case strings.HasPrefix(ref, "file:"):
		p, err := ExpandPath(strings.TrimPrefix(ref, "file:"), base)
		if err != nil {
			return Secret{}, fmt.Errorf("secret reference %q: %w", ref, err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return Secret{}, fmt.Errorf("secret reference %q: %w", ref, err)
		}
		v := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		if v == "" {
			return Secret{}, fmt.Errorf("secret reference %q: file %s is empty", ref, p)
		}
		return NewSecret(v), nil
	default:
		return Secret{}, fmt.Errorf("secret reference must start with env: or file: (a literal secret is not accepted in a hosts file)")
	}
}

// ExpandPath expands a leading ~ and makes a relative path relative to base.
func ExpandPath(p, base string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("empty path")
	}
	if p == "~" || strings.HasPrefix(p, "~/") {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		p = filepath.Join(home, strings.TrimPrefix(p, "~"))
	}
	if !filepath.IsAbs(p) && base != "" {
		p = filepath.Join(base, p)
	}
	return p, nil
}
