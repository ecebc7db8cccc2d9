package winrm

import (
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/shift-migrate/shift/inventory"
	"github.com/shift-migrate/shift/remote/psjson"
)

// networkOutput is what scripts/network.ps1 prints.
type networkOutput struct {
	Adapters psjson.List[struct {
		Name                 psjson.String
		Description          psjson.String
		MACAddress           psjson.String
		NetEnabled           psjson.Bool
		Speed                psjson.Uint // bits per second
		DHCPEnabled          psjson.Bool
		IPAddress            psjson.Strings
		IPSubnet             psjson.Strings
		DefaultIPGateway     psjson.Strings
		DNSServerSearchOrder psjson.Strings
	}]
	Teams psjson.List[struct {
		Name    psjson.String
		Members psjson.Strings
	}]
	Listeners psjson.List[struct {
		LocalAddress  psjson.String
		LocalPort     psjson.Int
		OwningProcess psjson.Int
		Process       psjson.String
	}]
	// Netstat is the text of "netstat -ano -p TCP" on hosts without
	// Get-NetTCPConnection; null otherwise.
	Netstat  psjson.String
	Problems psjson.List[problem]
}

func parseNetwork(h *inventory.Host, stdout []byte) ([]problem, error) {
	var out networkOutput
	if err := psjson.Decode(stdout, &out); err != nil {
		return nil, err
	}
	teams := map[string][]string{}
	for _, t := range out.Teams {
		teams[strings.ToLower(string(t.Name))] = t.Members
	}
	h.NICs = nil
	for _, a := range out.Adapters {
		nic := inventory.NIC{
			Name:        string(a.Name),
			Description: string(a.Description),
			MAC:         strings.ToLower(strings.ReplaceAll(string(a.MACAddress), "-", ":")),
			Up:          a.NetEnabled.Ptr(),
			DHCP:        a.DHCPEnabled.Ptr(),
			Gateways:    a.DefaultIPGateway,
			DNS:         a.DNSServerSearchOrder,
		}
		if nic.Name == "" {
			nic.Name = nic.Description
		}
		if a.Speed.Valid && a.Speed.Value < 1e13 { // unknown speed is printed as 2^63-1
			nic.SpeedMbps = int(a.Speed.Value / 1_000_000)
		}
		for i, ip := range a.IPAddress {
			addr, err := netip.ParseAddr(ip)
			if err != nil {
				continue
			}
			subnet := ""
			if i < len(a.IPSubnet) {
				subnet = a.IPSubnet[i]
			}
			nic.Addresses = append(nic.Addresses, ipAddress(addr, subnet, a.DHCPEnabled.True()))
		}
		if members, ok := teams[strings.ToLower(nic.Name)]; ok {
			nic.Team, nic.Members = true, members
		}
		h.NICs = append(h.NICs, nic)
	}

	h.Ports = nil
	for _, l := range out.Listeners {
		h.Ports = append(h.Ports, inventory.Port{
			Protocol: "tcp",
			Address:  string(l.LocalAddress),
			Port:     l.LocalPort.Int(),
			PID:      l.OwningProcess.Int(),
			Process:  string(l.Process),
		})
	}
	if out.Netstat != "" {
		h.Ports = append(h.Ports, parseNetstat(string(out.Netstat))...)
	}
	sort.SliceStable(h.Ports, func(i, j int) bool {
		if h.Ports[i].Port != h.Ports[j].Port {
			return h.Ports[i].Port < h.Ports[j].Port
		}
		return h.Ports[i].Address < h.Ports[j].Address
	})
	return out.Problems, nil
}

// ipAddress builds an address from Win32_NetworkAdapterConfiguration's
// parallel arrays: an IPv4 subnet is a mask ("255.255.255.0"), an IPv6 one
// a prefix length ("64").
func ipAddress(addr netip.Addr, subnet string, dhcp bool) inventory.IPAddress {
	ip := inventory.IPAddress{Address: addr.String(), Family: "ipv4", Origin: "static"}
	if addr.Is6() && !addr.Is4In6() {
		ip.Family = "ipv6"
	}
	if n, err := strconv.Atoi(subnet); err == nil {
		ip.Prefix = n
	} else if mask := net.ParseIP(subnet).To4(); mask != nil {
		ip.Prefix, _ = net.IPMask(mask).Size()
	}
	switch {
	case addr.IsLinkLocalUnicast():
		ip.Origin = "link-local"
	case dhcp && ip.Family == "ipv4":
		ip.Origin = "dhcp"
	case ip.Family == "ipv6":
		ip.Origin = ""
	}
	return ip
}

// parseNetstat reads the LISTENING lines of "netstat -ano":
//
//	TCP    0.0.0.0:135            0.0.0.0:0              LISTENING       912
//	TCP    [::]:445               [::]:0                 LISTENING       4
func parseNetstat(text string) []inventory.Port {
	var ports []inventory.Port
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) != 5 || !strings.EqualFold(f[0], "TCP") || f[3] != "LISTENING" {
			continue
		}
		i := strings.LastIndexByte(f[1], ':')
		if i < 0 {
			continue
		}
		port, err1 := strconv.Atoi(f[1][i+1:])
		pid, err2 := strconv.Atoi(f[4])
		if err1 != nil || err2 != nil {
			continue
		}
		addr := strings.Trim(f[1][:i], "[]")
		ports = append(ports, inventory.Port{Protocol: "tcp", Address: addr, Port: port, PID: pid})
	}
	return ports
}
