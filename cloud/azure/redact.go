package azure

import "regexp"

// sasSig matches the signature of a SAS in a URL, as error messages of the
// SDK and of net/http quote it.
var sasSig = regexp.MustCompile(`(?i)(sig=)[^&\s"']+`)

// redacted wraps an error whose message may quote a SAS URL: its message
// has the signature replaced, so the SAS cannot be used from a log; errors.Is
// and errors.As still see the error it wraps.
type redacted struct{ err error }

func redact(err error) error {
	if err == nil {
		return nil
	}
	return redacted{err}
}

func (r redacted) Error() string { return sasSig.ReplaceAllString(r.err.Error(), "${1}REDACTED") }
func (r redacted) Unwrap() error { return r.err }
