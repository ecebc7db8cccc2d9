package face

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// HostSpec is one server as a user enters it in a face: how to reach it and
// which credential reference to log in with. It never holds a secret.
type HostSpec struct {
	// Name is the host's name in the hosts file.
	Name string
	// Address is a host name or IP address.
	Address string
	// Transport is "ssh" or "winrm"; empty means inherited from the hosts
	// file's group or defaults.
	Transport string
	// User is the login user; empty means inherited.
	User string
	// Port is the TCP port; 0 means the transport's default (22, 5985/5986).
	Port int
	// Password is a secret reference (env:NAME or file:PATH); empty means none.
	Password string
	// Key is a secret reference to an SSH private key; empty means none.
	Key string
	// Group is the hosts-file group the host takes its settings from; empty
	// means none.
	Group string
	// Origin says where the spec came from ("hosts.yaml:12"); empty for a host
	// entered in the face and not yet saved.
	Origin string
}

// MaxRange is the largest number of hosts one address range may expand to.
const MaxRange = 1024

// ExpandRange turns an address range into the addresses it holds. It accepts
// a CIDR prefix ("10.0.0.0/28": the usable hosts, without the network and
// broadcast addresses for IPv4 prefixes up to /30), a dash range of full
// addresses ("10.0.0.5-10.0.0.9") or of a last octet ("10.0.0.5-9"). ok is
// false when s is not a range at all (a single name or address), so that the
// caller treats it as one host.
func ExpandRange(s string) (addrs []netip.Addr, ok bool, err error) {
	s = strings.TrimSpace(s)
	if p, perr := netip.ParsePrefix(s); perr == nil {
		return expandPrefix(s, p)
	} else if strings.Contains(s, "/") {
		return nil, true, fmt.Errorf("address range %q: %v", s, perr)
	}
	lo, hi, found := strings.Cut(s, "-")
	if !found {
		return nil, false, nil
	}
	first, err := netip.ParseAddr(lo)
	if err != nil {
		// A host name with a dash ("web-01") is not a range.
		return nil, false, nil
	}
	last, err := netip.ParseAddr(hi)
	if err != nil && first.Is4() && !strings.Contains(hi, ".") {
		// "10.0.0.5-9": the end is a last octet.
		b := first.As4()
		var n int
		if _, serr := fmt.Sscanf(hi, "%d", &n); serr != nil || n < 0 || n > 255 || fmt.Sprint(n) != hi {
			return nil, true, fmt.Errorf("address range %q: %q is neither an address nor a last octet (0-255)", s, hi)
		}
		b[3] = byte(n)
		last, err = netip.AddrFrom4(b), nil
	}
	if err != nil {
		return nil, true, fmt.Errorf("address range %q: end %q is not an address", s, hi)
	}
	if first.Is4() != last.Is4() {
		return nil, true, fmt.Errorf("address range %q: mixes IPv4 and IPv6", s)
	}
	if last.Less(first) {
		return nil, true, fmt.Errorf("address range %q: the end comes before the start", s)
	}
	for a := first; ; a = a.Next() {
		if len(addrs) == MaxRange {
			return nil, true, fmt.Errorf("address range %q: more than %d hosts; split it", s, MaxRange)
		}
		addrs = append(addrs, a)
		if a == last {
			break
		}
	}
	return addrs, true, nil
}

func expandPrefix(s string, p netip.Prefix) ([]netip.Addr, bool, error) {
	p = p.Masked()
	bits := p.Addr().BitLen() - p.Bits()
	if bits > 10 { // 2^10 = MaxRange
		return nil, true, fmt.Errorf("address range %q: more than %d hosts; use a longer prefix", s, MaxRange)
	}
	var out []netip.Addr
	for a := p.Addr(); p.Contains(a); a = a.Next() {
		out = append(out, a)
		if !a.Next().IsValid() {
			break
		}
	}
	if p.Addr().Is4() && bits >= 2 {
		out = out[1 : len(out)-1] // network and broadcast addresses
	}
	return out, true, nil
}

// RangeName is the name ExpandRange's hosts get: the prefix the user typed,
// a dash, and the address with its dots and colons as dashes ("web-10-0-0-5").
func RangeName(prefix string, a netip.Addr) string {
	r := strings.NewReplacer(".", "-", ":", "-")
	return prefix + "-" + r.Replace(a.String())
}

// ErrNoHosts is returned when there is nothing to discover.
var ErrNoHosts = errors.New("no hosts: add a host or import a hosts file")
