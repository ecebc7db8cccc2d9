package ssh

import (
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/shift-migrate/shift/inventory"
)

func nicByName(nics []inventory.NIC, name string) *inventory.NIC {
	for i := range nics {
		if nics[i].Name == name {
			return &nics[i]
		}
	}
	return nil
}

func origins(n *inventory.NIC) []string {
	var o []string
	for _, a := range n.Addresses {
		o = append(o, a.Address+"/"+a.Origin)
	}
	return o
}

func TestParseIPAddrDebianVM(t *testing.T) {
	nics, err := parseIPAddr(ref(t, "ip/ip-j-addr.iproute2-6.1.0.debian12-vm.json"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range nics {
		names = append(names, n.Name)
	}
	if !slices.Equal(names, []string{"ifb0", "ifb1", "eth0"}) {
		t.Fatalf("NICs %v (lo must be skipped)", names)
	}
	eth := nics[2]
	if eth.MAC != "02:fc:00:00:00:01" || eth.MTU != 1400 || eth.Up == nil || !*eth.Up || eth.DHCP == nil || *eth.DHCP || eth.Virtual || eth.Team {
		t.Errorf("eth0 = %+v", eth)
	}
	want := []string{"192.0.2.2/static", "fd00::2/static", "fe80::fc:ff:fe00:1/link-local"}
	if got := origins(&eth); !slices.Equal(got, want) {
		t.Errorf("eth0 addresses %v, want %v", got, want)
	}
	if p := eth.Addresses[0]; p.Prefix != 24 || p.Family != "ipv4" {
		t.Errorf("eth0 IPv4 = %+v", p)
	}
	if ifb := nics[0]; ifb.Up == nil || *ifb.Up || ifb.DHCP != nil || len(ifb.Addresses) != 0 {
		t.Errorf("ifb0 = %+v", ifb)
	}
}

func TestParseIPAddrNetplan(t *testing.T) {
	nics, err := parseIPAddr(ref(t, "ip/netplan-test_status.IPROUTE2.ip-d-j-addr.json"))
	if err != nil {
		t.Fatal(err)
	}
	enp := nicByName(nics, "enp0s31f6")
	if enp == nil || enp.MAC != "54:e1:ad:5f:24:b4" || enp.DHCP == nil || !*enp.DHCP || enp.Virtual {
		t.Fatalf("enp0s31f6 = %+v", enp)
	}
	want := []string{"192.168.178.62/dhcp", "2001:9e8:a19f:1c00:56e1:adff:fe5f:24b4/slaac", "fe80::56e1:adff:fe5f:24b4/link-local"}
	if got := origins(enp); !slices.Equal(got, want) {
		t.Errorf("enp0s31f6 %v, want %v", got, want)
	}
	if w := nicByName(nics, "wlan0"); w == nil || len(w.Addresses) != 4 || w.Addresses[1].Origin != "slaac" {
		t.Errorf("wlan0 = %+v", w)
	}
	for _, name := range []string{"wg0", "tun0", "tun1"} {
		n := nicByName(nics, name)
		if n == nil || !n.Virtual {
			t.Errorf("%s = %+v, want virtual", name, n)
		}
	}
	if tun := nicByName(nics, "tun0"); tun.MAC != "" {
		t.Errorf("sit tunnel address taken for a MAC: %q", tun.MAC)
	}
	if wwan := nicByName(nics, "wwan0"); wwan == nil || wwan.Virtual || wwan.Up == nil || *wwan.Up {
		t.Errorf("wwan0 = %+v", wwan)
	}
	if nicByName(nics, "lo") != nil {
		t.Error("lo listed")
	}
}

// TestParseIPAddrBond: bond master and slaves as `ip -d -j addr` prints them
// (linkinfo.info_kind "bond", slaves with "master" and info_slave_kind).
// Constructed in the shape of the reference files: no reference file has a bond.
func TestParseIPAddrBond(t *testing.T) {
	in := `[{"ifindex":2,"ifname":"eth0","flags":["BROADCAST","MULTICAST","SLAVE","UP","LOWER_UP"],"mtu":1500,"master":"bond0","operstate":"UP","link_type":"ether","address":"52:54:00:00:00:01","linkinfo":{"info_slave_kind":"bond"},"addr_info":[]},
	{"ifindex":3,"ifname":"eth1","flags":["BROADCAST","MULTICAST","SLAVE","UP","LOWER_UP"],"mtu":1500,"master":"bond0","operstate":"UP","link_type":"ether","address":"52:54:00:00:00:01","linkinfo":{"info_slave_kind":"bond"},"addr_info":[]},
	{"ifindex":4,"ifname":"bond0","flags":["BROADCAST","MULTICAST","MASTER","UP","LOWER_UP"],"mtu":1500,"operstate":"UP","link_type":"ether","address":"52:54:00:00:00:01","linkinfo":{"info_kind":"bond"},"addr_info":[{"family":"inet","local":"10.0.0.5","prefixlen":24,"scope":"global","label":"bond0"}]},
	{"ifindex":5,"ifname":"docker0","flags":["NO-CARRIER","BROADCAST","MULTICAST","UP"],"mtu":1500,"operstate":"DOWN","link_type":"ether","address":"02:42:AC:11:00:01","linkinfo":{"info_kind":"bridge"},"addr_info":[{"family":"inet","local":"172.17.0.1","prefixlen":16,"scope":"global"}]}]`
	nics, err := parseIPAddr([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	bond := nicByName(nics, "bond0")
	if bond == nil || !bond.Team || bond.Virtual || !slices.Equal(bond.Members, []string{"eth0", "eth1"}) {
		t.Errorf("bond0 = %+v", bond)
	}
	if e := nicByName(nics, "eth0"); e.Team || e.Virtual || len(e.Members) != 0 {
		t.Errorf("eth0 = %+v", e)
	}
	if d := nicByName(nics, "docker0"); !d.Virtual || d.MAC != "02:42:ac:11:00:01" {
		t.Errorf("docker0 = %+v", d)
	}
}

func TestParseIPRoute(t *testing.T) {
	tests := []struct {
		file string
		want map[string][]string
	}{
		{"ip/ip-j-route.iproute2-6.1.0.debian12-vm.json", map[string][]string{"eth0": {"192.0.2.1"}}},
		{"ip/ip-j-6-route.iproute2-6.1.0.debian12-vm.json", map[string][]string{"eth0": {"fd00::1"}}},
		{"ip/netplan-test_status.ROUTE4.ip-d-j-4-route-show-table-all.json", map[string][]string{"enp0s31f6": {"192.168.178.1"}, "wlan0": {"192.168.178.1"}}},
		// The enp0s31f6 default route sits in table 1234: not the main table.
		{"ip/netplan-test_status.ROUTE6.ip-d-j-6-route-show-table-all.json", map[string][]string{"wlan0": {"fe80::cece:1eff:fe3d:c737"}}},
	}
	for _, tt := range tests {
		got, err := parseIPRoute(ref(t, tt.file))
		if err != nil || !maps.EqualFunc(got, tt.want, slices.Equal) {
			t.Errorf("%s: got %v, %v; want %v", tt.file, got, err, tt.want)
		}
	}
	if _, err := parseIPRoute([]byte("default via 192.0.2.1 dev eth0")); err == nil {
		t.Error("text route parsed as JSON")
	}
}

func TestParseNetSys(t *testing.T) {
	// The probe's listing on the build VM (ifb devices are virtual).
	in := "eth0 speed= virtual=0 bond=0\nifb0 speed= virtual=1 bond=0\nlo speed= virtual=1 bond=0\nens3 speed=10000 virtual=0 bond=0\n"
	m, err := parseNetSys([]byte(in))
	if err != nil || m["ifb0"] != (netSys{Virtual: true}) || m["ens3"] != (netSys{SpeedMbps: 10000}) || m["eth0"] != (netSys{}) {
		t.Errorf("got %+v, %v", m, err)
	}
	if _, err := parseNetSys(nil); err == nil {
		t.Error("empty listing parsed")
	}
}

func TestDNS(t *testing.T) {
	rc, err := parseResolvConf([]byte("# generated\nnameserver 10.255.255.53\nnameserver 127.0.0.53\nsearch corp.example lab.example\noptions edns0 trust-ad\nnameserver bogus\n"))
	if err != nil || !slices.Equal(rc.Nameservers, []string{"10.255.255.53", "127.0.0.53"}) || !slices.Equal(rc.Search, []string{"corp.example", "lab.example"}) {
		t.Fatalf("resolv.conf: %+v, %v", rc, err)
	}
	// resolvectl dns output (systemd 249 shape).
	rd, err := parseResolvectlDNS([]byte("Global:\nLink 2 (eth0): 192.0.2.53 fe80::1%eth0\nLink 3 (docker0):\n"))
	if err != nil || !slices.Equal(rd.Links["eth0"], []string{"192.0.2.53", "fe80::1%eth0"}) || len(rd.Global) != 0 {
		t.Fatalf("resolvectl: %+v, %v", rd, err)
	}
	nics, err := parseIPAddr(ref(t, "ip/netplan-test_status.IPROUTE2.ip-d-j-addr.json"))
	if err != nil {
		t.Fatal(err)
	}
	rd.Links["wlan0"] = []string{"192.168.178.1"}
	assignDNS(nics, rc, &rd)
	if got := nicByName(nics, "wlan0").DNS; !slices.Equal(got, []string{"192.168.178.1"}) {
		t.Errorf("wlan0 DNS %v: per-link servers expected", got)
	}
	if got := nicByName(nics, "enp0s31f6").DNS; !slices.Equal(got, []string{"10.255.255.53"}) {
		t.Errorf("enp0s31f6 DNS %v: global servers without the stub expected", got)
	}
	if got := nicByName(nics, "wwan0").DNS; got != nil {
		t.Errorf("unconfigured wwan0 got DNS %v", got)
	}
	if _, err := parseResolvectlDNS([]byte("Failed to get global data: Unit dbus-org.freedesktop.resolve1.service not found.\n")); err == nil {
		t.Error("resolvectl error text parsed")
	}
}

func TestParseSS(t *testing.T) {
	tests := []struct {
		file  string
		count int
		first inventory.Port
		check []inventory.Port
	}{
		{"ss/ss-tlnpH.iproute2-6.1.0.debian12-vm.txt", 4,
			inventory.Port{Protocol: "tcp", Address: "127.0.0.1", Port: 2200, Process: "sshd", PID: 27438},
			[]inventory.Port{{Protocol: "tcp", Address: "0.0.0.0", Port: 2024}, {Protocol: "tcp", Address: "*", Port: 18080, Process: "python3", PID: 21564}, {Protocol: "tcp", Address: "::1", Port: 18081, Process: "python3", PID: 21564}}},
		{"ss/ss-tlnp.with-header.iproute2-6.1.0.debian12-vm.txt", 4,
			inventory.Port{Protocol: "tcp", Address: "127.0.0.1", Port: 2200, Process: "sshd", PID: 27438}, nil},
		{"ss/jc-ubuntu-18.04.ss-tulpen.tcp-listen-lines.txt", 0,
			inventory.Port{Protocol: "tcp", Address: "0.0.0.0", Port: 9187, Process: "prometheus-post", PID: 1671},
			[]inventory.Port{{Protocol: "tcp", Address: "127.0.0.53", Port: 53, Process: "systemd-resolve", PID: 1117}, {Protocol: "tcp", Address: "0.0.0.0", Port: 443, Process: "/usr/sbin/apach", PID: 24795}}},
		// Old ss: users:(("name",pid,fd)); ESTAB lines dropped; the fixture
		// labels its UNCONN lines tcp, so *:111 and :::111 appear twice alike.
		{"ss/insights-core.Ss_TUPNA.old-iproute2-users-format.txt", 11,
			inventory.Port{Protocol: "tcp", Address: "*", Port: 68, Process: "dhclient", PID: 1171},
			[]inventory.Port{{Protocol: "tcp", Address: "::", Port: 22, Process: "sshd", PID: 1231}, {Protocol: "tcp", Address: "::1", Port: 25, Process: "master", PID: 1326}}},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			b := ref(t, tt.file)
			ports, err := parseSS(b, "tcp")
			if err != nil {
				t.Fatal(err)
			}
			want := tt.count
			if want == 0 {
				want = strings.Count(string(b), "LISTEN")
			}
			if len(ports) != want || ports[0] != tt.first {
				t.Errorf("%d ports, first %+v; want %d, %+v", len(ports), ports[0], want, tt.first)
			}
			for _, p := range tt.check {
				if !slices.Contains(ports, p) {
					t.Errorf("missing %+v", p)
				}
			}
		})
	}
	// UDP: UNCONN lines of `ss -ulnpH`, including an interface suffix in brackets.
	ports, err := parseSS([]byte("UNCONN 0      0      127.0.0.53%lo:53        0.0.0.0:*    users:((\"systemd-resolve\",pid=611,fd=13))\nUNCONN 0      0      [fe80::1%eth0]:123         [::]:*\n"), "udp")
	if err != nil || len(ports) != 2 || ports[0] != (inventory.Port{Protocol: "udp", Address: "127.0.0.53", Port: 53, Process: "systemd-resolve", PID: 611}) || ports[1].Address != "fe80::1" {
		t.Errorf("udp: %+v, %v", ports, err)
	}
	if p, err := parseSS(nil, "tcp"); err != nil || len(p) != 0 {
		t.Errorf("no listeners: %+v, %v", p, err)
	}
	if _, err := parseSS([]byte("ss: invalid option -- 'H'\nUsage: ss [ OPTIONS ]\n"), "tcp"); err == nil {
		t.Error("usage text parsed")
	}
}
