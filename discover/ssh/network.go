package ssh

import (
	"encoding/json"
	"errors"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/shift-migrate/shift/inventory"
)

// ipLink is one interface of `ip -j [-d] addr`.
type ipLink struct {
	IfName    jstr   `json:"ifname"`
	Flags     []jstr `json:"flags"`
	MTU       juint  `json:"mtu"`
	OperState jstr   `json:"operstate"`
	LinkType  jstr   `json:"link_type"`
	Address   jstr   `json:"address"`
	Master    jstr   `json:"master"`
	LinkInfo  *struct {
		InfoKind      jstr `json:"info_kind"`
		InfoSlaveKind jstr `json:"info_slave_kind"`
	} `json:"linkinfo"`
	AddrInfo []struct {
		Family     jstr  `json:"family"`
		Local      jstr  `json:"local"`
		PrefixLen  juint `json:"prefixlen"`
		Scope      jstr  `json:"scope"`
		Dynamic    jbool `json:"dynamic"`
		MngTmpAddr jbool `json:"mngtmpaddr"`
		Temporary  jbool `json:"temporary"`
	} `json:"addr_info"`
}

var macRE = regexp.MustCompile(`^[0-9a-f]{2}(:[0-9a-f]{2}){5,19}$`)

// parseIPAddr parses `ip -j addr` or `ip -d -j addr` into NICs, without the
// loopback interface. Bonds and teams list their members; software devices
// (bridges, VLANs, tunnels, veth…) are flagged Virtual.
func parseIPAddr(out []byte) ([]inventory.NIC, error) {
	var links []ipLink
	if err := json.Unmarshal(out, &links); err != nil {
		return nil, err
	}
	if links == nil {
		return nil, errors.New("not a JSON array of interfaces")
	}
	nics := []inventory.NIC{}
	members := map[string][]string{}
	for _, l := range links {
		name := l.IfName.trim()
		if name == "" || l.LinkType.trim() == "loopback" || name == "lo" {
			continue
		}
		if m := l.Master.trim(); m != "" {
			members[m] = append(members[m], name)
		}
		nic := inventory.NIC{Name: name, Up: linkUp(l)}
		if l.MTU.Valid {
			nic.MTU = int(min(l.MTU.V, 1<<31-1))
		}
		if mac := strings.ToLower(l.Address.trim()); macRE.MatchString(mac) && strings.Trim(mac, "0:") != "" {
			nic.MAC = mac
		}
		if l.LinkInfo != nil {
			switch k := l.LinkInfo.InfoKind.trim(); k {
			case "":
			case "bond", "team":
				nic.Team = true
			default:
				nic.Virtual = true
			}
		}
		nic.Addresses, nic.DHCP = addresses(l)
		nics = append(nics, nic)
	}
	for i := range nics {
		if nics[i].Team {
			nics[i].Members = members[nics[i].Name]
		}
	}
	return nics, nil
}

// linkUp reads the operational state, falling back to the flags when the
// kernel says UNKNOWN (tunnels, some virtual devices).
func linkUp(l ipLink) *bool {
	switch l.OperState.trim() {
	case "UP":
		return inventory.Bool(true)
	case "DOWN", "LOWERLAYERDOWN", "NOTPRESENT":
		return inventory.Bool(false)
	}
	if l.Flags == nil {
		return nil
	}
	return inventory.Bool(slices.Contains(l.Flags, "UP") && slices.Contains(l.Flags, "LOWER_UP"))
}

// addresses converts a link's addr_info; dhcp is nil when the link has no
// IPv4 address.
func addresses(l ipLink) (addrs []inventory.IPAddress, dhcp *bool) {
	for _, a := range l.AddrInfo {
		ip, err := netip.ParseAddr(a.Local.trim())
		if err != nil || a.Scope.trim() == "host" {
			continue
		}
		addr := inventory.IPAddress{Address: ip.String(), Prefix: int(min(a.PrefixLen.V, 128))}
		switch a.Family.trim() {
		case "inet":
			addr.Family = "ipv4"
		case "inet6":
			addr.Family = "ipv6"
		default:
			continue
		}
		switch {
		case a.Scope.trim() == "link" || ip.IsLinkLocalUnicast():
			addr.Origin = "link-local"
		case addr.Family == "ipv4" && a.Dynamic.V:
			addr.Origin = "dhcp"
		case addr.Family == "ipv6" && (a.Dynamic.V || a.MngTmpAddr.V || a.Temporary.V):
			addr.Origin = "slaac"
		default:
			addr.Origin = "static"
		}
		if addr.Family == "ipv4" && addr.Origin != "link-local" {
			dhcp = inventory.Bool(addr.Origin == "dhcp" || (dhcp != nil && *dhcp))
		}
		addrs = append(addrs, addr)
	}
	return addrs, dhcp
}

// route is one route of `ip -j route`.
type route struct {
	Dst     jstr `json:"dst"`
	Gateway jstr `json:"gateway"`
	Dev     jstr `json:"dev"`
	Table   jstr `json:"table"`
	Type    jstr `json:"type"`
}

// parseIPRoute parses `ip -j route` / `ip -j -6 route` (also with -d and
// "show table all") and returns the default gateways of the main table per
// device.
func parseIPRoute(out []byte) (map[string][]string, error) {
	var routes []route
	if err := json.Unmarshal(out, &routes); err != nil {
		return nil, err
	}
	if routes == nil {
		return nil, errors.New("not a JSON array of routes")
	}
	gws := map[string][]string{}
	for _, r := range routes {
		if r.Dst.trim() != "default" || r.Gateway.trim() == "" || r.Dev.trim() == "" {
			continue
		}
		if t := r.Table.trim(); t != "" && t != "main" {
			continue
		}
		if t := r.Type.trim(); t != "" && t != "unicast" {
			continue
		}
		dev, gw := r.Dev.trim(), r.Gateway.trim()
		if !slices.Contains(gws[dev], gw) {
			gws[dev] = append(gws[dev], gw)
		}
	}
	return gws, nil
}

// netSys is what /sys/class/net/<name> tells about an interface.
type netSys struct {
	// SpeedMbps is 0 when unknown.
	SpeedMbps int
	Virtual   bool
	Bond      bool
}

// parseNetSys parses the probe's "name speed=N virtual=0|1 bond=0|1" lines.
func parseNetSys(out []byte) (map[string]netSys, error) {
	m := map[string]netSys{}
	for _, l := range lines(out) {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		var ns netSys
		for _, kv := range f[1:] {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "speed":
				if n, err := strconv.Atoi(v); err == nil && n > 0 {
					ns.SpeedMbps = n
				}
			case "virtual":
				ns.Virtual = v == "1"
			case "bond":
				ns.Bond = v == "1"
			}
		}
		m[f[0]] = ns
	}
	if len(m) == 0 {
		return nil, errors.New("no interfaces listed")
	}
	return m, nil
}

// resolvConf is what /etc/resolv.conf tells.
type resolvConf struct {
	Nameservers []string
	Search      []string
}

// parseResolvConf parses /etc/resolv.conf.
func parseResolvConf(out []byte) (resolvConf, error) {
	var rc resolvConf
	for _, l := range lines(out) {
		if i := strings.IndexAny(l, "#;"); i >= 0 {
			l = l[:i]
		}
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "nameserver":
			if _, err := netip.ParseAddr(strings.Split(f[1], "%")[0]); err == nil && !slices.Contains(rc.Nameservers, f[1]) {
				rc.Nameservers = append(rc.Nameservers, f[1])
			}
		case "search", "domain":
			rc.Search = append(rc.Search, f[1:]...)
		}
	}
	return rc, nil
}

// resolvectlDNS is the output of `resolvectl dns`: global servers and servers
// per link.
type resolvectlDNS struct {
	Global []string
	Links  map[string][]string
}

var resolvectlLinkRE = regexp.MustCompile(`^Link \d+ \(([^)]+)\):(.*)$`)

// parseResolvectlDNS parses "Global: 1.1.1.1" and "Link 2 (eth0): 192.0.2.1
// fe80::1%eth0" lines.
func parseResolvectlDNS(out []byte) (resolvectlDNS, error) {
	r := resolvectlDNS{Links: map[string][]string{}}
	seen := false
	for _, l := range lines(out) {
		l = strings.TrimSpace(l)
		if rest, ok := strings.CutPrefix(l, "Global:"); ok {
			r.Global = append(r.Global, strings.Fields(rest)...)
			seen = true
			continue
		}
		if m := resolvectlLinkRE.FindStringSubmatch(l); m != nil {
			r.Links[m[1]] = append(r.Links[m[1]], strings.Fields(m[2])...)
			seen = true
		}
	}
	if !seen {
		return resolvectlDNS{}, errors.New(`no "Global:" or "Link N (name):" lines`)
	}
	return r, nil
}

// stubResolver is systemd-resolved's local stub: not a server worth listing.
const stubResolver = "127.0.0.53"

// assignDNS gives every configured NIC its DNS servers: its own per-link
// servers from resolved when known, else the host-wide servers.
func assignDNS(nics []inventory.NIC, rc resolvConf, rd *resolvectlDNS) {
	global := slices.DeleteFunc(slices.Clone(rc.Nameservers), func(s string) bool { return s == stubResolver || s == "127.0.0.54" })
	if rd != nil {
		for _, s := range rd.Global {
			if !slices.Contains(global, s) {
				global = append(global, s)
			}
		}
	}
	for i := range nics {
		if !configured(nics[i]) {
			continue
		}
		if rd != nil && len(rd.Links[nics[i].Name]) > 0 {
			nics[i].DNS = rd.Links[nics[i].Name]
			continue
		}
		if len(global) > 0 {
			nics[i].DNS = slices.Clone(global)
		}
	}
}

// configured reports whether a NIC has an address beyond link-local.
func configured(n inventory.NIC) bool {
	for _, a := range n.Addresses {
		if a.Origin != "link-local" {
			return true
		}
	}
	return false
}

var (
	ssUsersNew = regexp.MustCompile(`\("([^"]*)",pid=(\d+)`)
	ssUsersOld = regexp.MustCompile(`\("([^"]*)",(\d+),`)
)

// parseSS parses `ss -tlnp[H]` / `ss -ulnp[H]` (header optional, with or
// without the Netid column, old users:(("name",pid,fd)) and new
// users:(("name",pid=N,fd=N)) forms, extras from -e). proto is the protocol
// asked for; the Netid column wins when present. Only listening (LISTEN) and
// bound (UNCONN) sockets are kept.
func parseSS(out []byte, proto string) ([]inventory.Port, error) {
	ports := []inventory.Port{}
	parsed := 0
	for _, l := range lines(out) {
		f := strings.Fields(l)
		if len(f) == 0 || f[0] == "State" || f[0] == "Netid" {
			continue
		}
		p := proto
		if f[0] == "tcp" || f[0] == "udp" || f[0] == "raw" || f[0] == "sctp" || f[0] == "u_str" || f[0] == "u_dgr" {
			p = f[0]
			f = f[1:]
		}
		if len(f) < 5 {
			continue
		}
		state := f[0]
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue // not a socket line
		}
		parsed++
		if state != "LISTEN" && state != "UNCONN" || (p != "tcp" && p != "udp") {
			continue
		}
		addr, port, ok := splitHostPort(f[3])
		if !ok {
			continue
		}
		pt := inventory.Port{Protocol: p, Address: addr, Port: port}
		rest := strings.Join(f[5:], " ")
		m := ssUsersNew.FindStringSubmatch(rest)
		if m == nil {
			m = ssUsersOld.FindStringSubmatch(rest)
		}
		if m != nil {
			pt.Process = m[1]
			pt.PID, _ = strconv.Atoi(m[2])
		}
		if !slices.Contains(ports, pt) {
			ports = append(ports, pt)
		}
	}
	if parsed == 0 && len(strings.TrimSpace(string(out))) > 0 {
		return nil, errors.New("no socket lines")
	}
	return ports, nil
}

// splitHostPort splits ss's local address column: "0.0.0.0:22", "*:80",
// "[::]:22", ":::111" (old ss), "127.0.0.53%lo:53", "[fe80::1%eth0]:123".
// The interface suffix is dropped.
func splitHostPort(s string) (host string, port int, ok bool) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return "", 0, false
	}
	host, ps := s[:i], s[i+1:]
	port, err := strconv.Atoi(ps)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, false
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if j := strings.IndexByte(host, '%'); j >= 0 {
		host = host[:j]
	}
	if host == "" {
		return "", 0, false
	}
	if host != "*" {
		ip, err := netip.ParseAddr(host)
		if err != nil {
			return "", 0, false
		}
		host = ip.String()
	}
	return host, port, true
}
