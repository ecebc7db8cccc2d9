package assess

import "regexp"

// Reports never carry secrets. The inventory holds none, but text in it comes
// from hosts (labels, error messages, descriptions), so renderers pass their
// output through Redact as a last line of defence.

var secretPatterns = []struct {
	re   *regexp.Regexp
	with string
}{
	// A BitLocker recovery password: 48 digits in eight groups of six.
	{regexp.MustCompile(`\b\d{6}(?:-\d{6}){7}\b`), "[redacted: BitLocker recovery password]"},
	// A PEM private key block.
	{regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----`), "[redacted: private key]"},
}

// Redact replaces anything in b that looks like a secret.
func Redact(b []byte) []byte {
	for _, p := range secretPatterns {
		b = p.re.ReplaceAll(b, []byte(p.with))
	}
	return b
}

// RedactString is [Redact] for a string.
func RedactString(s string) string { return string(Redact([]byte(s))) }
