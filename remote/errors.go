package remote

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"

	"github.com/shift-migrate/shift/inventory"
)

// Error is a failure talking to a host. It names the host and the step, carries
// a kind (the inventory.Err* constants) that says what the user can do, and a
// hint when there is one. It never holds a secret.
type Error struct {
	Host string
	Step string
	Kind string
	Err  error
	Hint string
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("host %s: %s: %v", e.Host, e.Step, e.Err)
	if e.Hint != "" {
		msg += " (hint: " + e.Hint + ")"
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Inventory converts the error into the form recorded in an inventory.
func (e *Error) Inventory() inventory.Error {
	return inventory.Error{Step: e.Step, Kind: e.Kind, Message: e.Err.Error(), Hint: e.Hint}
}

// KindOf returns the kind of err: the Kind of a wrapped *Error, or a kind
// guessed from well-known network errors, or inventory.ErrProbe.
func KindOf(err error) string {
	var re *Error
	if errors.As(err, &re) {
		return re.Kind
	}
	return classifyNet(err)
}

// AsInventoryError converts any error into an inventory error for step.
func AsInventoryError(step string, err error) inventory.Error {
	var re *Error
	if errors.As(err, &re) {
		ie := re.Inventory()
		if ie.Step == "" {
			ie.Step = step
		}
		return ie
	}
	return inventory.Error{Step: step, Kind: classifyNet(err), Message: err.Error()}
}

// classifyNet maps dial and I/O errors to kinds.
func classifyNet(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.Canceled):
		return inventory.ErrCanceled
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return inventory.ErrTimeout
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.ECONNRESET):
		return inventory.ErrUnreachable
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return inventory.ErrTimeout
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return inventory.ErrUnreachable
	}
	return inventory.ErrProbe
}

// DialError wraps a failure to reach host at addr with the kind and a hint
// that fit it.
func DialError(host, addr string, err error) *Error {
	kind := classifyNet(err)
	e := &Error{Host: host, Step: "connect " + addr, Kind: kind, Err: err}
	switch kind {
	case inventory.ErrTimeout:
		e.Hint = "no answer in time: check the address, firewalls on the path, and raise --timeout if the host is slow"
	case inventory.ErrUnreachable:
		e.Hint = "check the address and port, that the service listens, and that no firewall blocks shift"
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) {
			e.Hint = "the name " + dnsErr.Name + " does not resolve: check the address in the hosts file, or use an IP"
		}
	case inventory.ErrCanceled:
		e.Hint = ""
	}
	return e
}
