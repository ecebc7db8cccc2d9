package inventory

// Error kinds. They say what the user can do about an error; the message says
// what happened.
const (
	ErrAuth        = "auth"        // credentials refused
	ErrHostKey     = "hostkey"     // SSH host key unknown or changed
	ErrUnreachable = "unreachable" // connection refused, no route, DNS failure
	ErrTimeout     = "timeout"     // no answer within the per-host timeout
	ErrTLS         = "tls"         // certificate not trusted
	ErrPermission  = "permission"  // connected, but not allowed to read (sudo, UAC)
	ErrProbe       = "probe"       // a probe command or script failed on the host
	ErrParse       = "parse"       // output could not be understood
	ErrUnsupported = "unsupported" // the host lacks something the probe needs
	ErrConfig      = "config"      // the hosts file or a credential reference is wrong
	ErrCanceled    = "canceled"    // discovery was interrupted
)

// Error is one problem met while discovering a host. It never carries a secret.
type Error struct {
	// Step names what was being done ("connect", "auth", "disks", "sqlserver").
	Step string `json:"step"`
	// Kind is one of the Err* constants.
	Kind    string `json:"kind"`
	Message string `json:"message"`
	// Hint says what the user can do; empty when there is nothing to suggest.
	Hint string `json:"hint,omitempty"`
}
