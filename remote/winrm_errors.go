package remote

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/xml"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/masterzen/winrm"
	"github.com/shift-migrate/shift/inventory"
)

// WinRMFault is a WS-Management SOAP fault a host answered with.
type WinRMFault struct {
	// Subcode is the WS-Management subcode, e.g. "w:InvalidSelectors".
	Subcode string
	// Code is the Windows error number of the f:WSManFault detail, e.g.
	// 2150858843 for an unknown shell; 0 when absent.
	Code uint32
	// Reason is the fault's reason text.
	Reason string
	// Message is the detail message, often more specific than Reason; ""
	// when absent.
	Message string
}

func (f *WinRMFault) Error() string {
	text := f.Message
	if text == "" {
		text = f.Reason
	}
	text = strings.Join(strings.Fields(text), " ")
	if f.Code != 0 {
		return fmt.Sprintf("winrm fault %s (code %d): %s", f.Subcode, f.Code, text)
	}
	return fmt.Sprintf("winrm fault %s: %s", f.Subcode, text)
}

// Hints for WinRM errors, by kind.
const (
	hintWinRMAuth = "check the user and password, and that the auth method (basic/ntlm) is enabled on the host: " +
		"winrm get winrm/config/service/auth; Basic over HTTP also needs AllowUnencrypted=true"
	hintWinRMUnreachable = "check the address and port, run Enable-PSRemoting on the host, and open its firewall " +
		"for TCP 5985 (HTTP) or 5986 (HTTPS)"
	hintWinRMTimeout = "no answer in time: check the address and firewalls on the path, and raise the timeout for slow hosts"
	hintWinRMTLS     = "the host's certificate is not trusted: pass the CA bundle that signed it, or the explicit insecure option"
	hintWinRMName    = "the host's certificate does not name the address dialed: connect by a name the certificate has, or set the TLS server name"
)

// httpStatus finds the HTTP status masterzen/winrm puts in its error text:
// "http response error: 401 - invalid content type" or "http error 500: <body>".
var httpStatus = regexp.MustCompile(`http (?:response )?error:? (\d{3})\b`)

// winrmError classifies an error of the winrm client for host: the step
// ("winrm connect", "winrm auth", "winrm run"), the kind and a hint.
func winrmError(host, step string, err error) *Error {
	e := &Error{Host: host, Step: step, Kind: inventory.ErrProbe, Err: err}
	msg := err.Error()
	var (
		unknownCA x509.UnknownAuthorityError
		badName   x509.HostnameError
		invalid   x509.CertificateInvalidError
		verify    *tls.CertificateVerificationError
		record    tls.RecordHeaderError
	)
	switch {
	case errors.Is(err, context.Canceled):
		e.Kind = inventory.ErrCanceled
	case errors.Is(err, context.DeadlineExceeded):
		e.Kind, e.Hint = inventory.ErrTimeout, hintWinRMTimeout
	case errors.As(err, &badName):
		e.Step, e.Kind, e.Hint = "winrm connect", inventory.ErrTLS, hintWinRMName
	case errors.As(err, &unknownCA), errors.As(err, &invalid), errors.As(err, &verify):
		e.Step, e.Kind, e.Hint = "winrm connect", inventory.ErrTLS, hintWinRMTLS
	case errors.As(err, &record), strings.Contains(msg, "server gave HTTP response to HTTPS client"):
		e.Step, e.Kind = "winrm connect", inventory.ErrTLS
		e.Hint = "the port answers plain HTTP: turn HTTPS off for this host or use its HTTPS port (5986)"
	default:
		// masterzen/winrm returns a fault answer as a body; Command then
		// fails with its "unsupported action" error holding the fault.
		var exec *winrm.ExecuteCommandError
		if errors.As(err, &exec) {
			if f := parseFault(exec.Body); f != nil {
				e.Err, e.Hint = f, faultHint(f)
				return e
			}
		}
		if m := httpStatus.FindStringSubmatch(msg); m != nil {
			return httpError(e, m[1], msg)
		}
		switch classifyNet(err) {
		case inventory.ErrUnreachable:
			e.Step, e.Kind, e.Hint = "winrm connect", inventory.ErrUnreachable, hintWinRMUnreachable
		case inventory.ErrTimeout:
			e.Kind, e.Hint = inventory.ErrTimeout, hintWinRMTimeout
		}
	}
	return e
}

// httpError classifies an answer with HTTP status code.
func httpError(e *Error, code, msg string) *Error {
	status, _ := strconv.Atoi(code)
	switch {
	case status == 401:
		e.Step, e.Kind, e.Hint = "winrm auth", inventory.ErrAuth, hintWinRMAuth
		// The client's own text ("401 - invalid content type") misleads; the
		// status says it all.
		e.Err = errors.New("the host refused the credentials (HTTP 401)")
	case status == 400 && !strings.Contains(msg, "<"):
		e.Step, e.Kind = "winrm connect", inventory.ErrTLS
		e.Hint = "the host refused a plain HTTP request: it may listen for HTTPS on this port"
	case status == 404:
		e.Step, e.Hint = "winrm connect", "the server has no /wsman: check that the port is the WinRM listener"
	default:
		if f := parseFault(msg); f != nil {
			e.Err = f
			e.Hint = faultHint(f)
		}
	}
	return e
}

// parseFault extracts the SOAP fault from the text of a winrm error, nil
// when there is none.
func parseFault(msg string) *WinRMFault {
	i := strings.Index(msg, "<")
	if i < 0 {
		return nil
	}
	var env struct {
		Fault struct {
			Subcode string `xml:"Code>Subcode>Value"`
			Reason  string `xml:"Reason>Text"`
			Detail  struct {
				WSMan struct {
					Code    string `xml:"Code,attr"`
					Message string `xml:",innerxml"`
				} `xml:"WSManFault"`
			} `xml:"Detail"`
		} `xml:"Body>Fault"`
	}
	if err := xml.Unmarshal([]byte(msg[i:]), &env); err != nil || env.Fault.Subcode == "" {
		return nil
	}
	f := &WinRMFault{Subcode: strings.TrimSpace(env.Fault.Subcode), Reason: strings.TrimSpace(env.Fault.Reason)}
	if n, err := strconv.ParseUint(strings.TrimSpace(env.Fault.Detail.WSMan.Code), 10, 32); err == nil {
		f.Code = uint32(n)
	}
	f.Message = strings.TrimSpace(xmlInnerText(env.Fault.Detail.WSMan.Message))
	return f
}

// xmlInnerText returns the character data of an XML fragment, without tags
// (f:Message may wrap its text in f:ProviderFault).
func xmlInnerText(fragment string) string {
	var b strings.Builder
	dec := xml.NewDecoder(strings.NewReader(fragment))
	for {
		tok, err := dec.Token()
		if err != nil {
			return b.String()
		}
		if cd, ok := tok.(xml.CharData); ok {
			b.Write(cd)
		}
	}
}

// faultHint says what a user can do about a fault.
func faultHint(f *WinRMFault) string {
	switch f.Code {
	case 2150858843:
		return "the shell is gone on the host (WinRM service restarted, or the shell idled out): run again"
	case 2150859174, 2150859173:
		return "the host limits concurrent shells: lower the concurrency or raise winrm/config/winrs MaxShellsPerUser"
	}
	if strings.Contains(f.Subcode, "AccessDenied") {
		return "the account may not use WinRM: add it to the local Administrators or Remote Management Users group"
	}
	return "the WinRM service on the host refused the request; the fault text above says why"
}
