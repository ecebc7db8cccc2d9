package ssh

import (
	"testing"
)

// Every parser, fed anything, returns a result or an error and never panics.
// The seeds are the reference outputs.

func seed(f *testing.F, dirs ...string) {
	for _, d := range dirs {
		for _, name := range refFiles(f, d) {
			f.Add(ref(f, name))
		}
	}
}

func FuzzLsblk(f *testing.F) {
	seed(f, "lsblk")
	f.Fuzz(func(t *testing.T, b []byte) {
		devs, err := parseLsblk(b)
		if err != nil {
			return
		}
		if devs == nil {
			t.Fatal("no devices and no error")
		}
		disks, vols := buildStorage(storageFacts{Devs: devs})
		for _, v := range vols {
			if v.Device == "" {
				t.Fatalf("volume without device: %+v (disks %+v)", v, disks)
			}
		}
	})
}

func FuzzFindmnt(f *testing.F) {
	seed(f, "findmnt")
	f.Add([]byte("Filesystem Type 1B-blocks Used Avail Mounted on\n/dev/vda ext4 10 5 5 /\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := parseMounts(b); err == nil && m == nil {
			t.Fatal("no mounts and no error")
		}
	})
}

func FuzzIPAddr(f *testing.F) {
	f.Add(ref(f, "ip/ip-j-addr.iproute2-6.1.0.debian12-vm.json"))
	f.Add(ref(f, "ip/netplan-test_status.IPROUTE2.ip-d-j-addr.json"))
	f.Fuzz(func(t *testing.T, b []byte) {
		nics, err := parseIPAddr(b)
		if err != nil {
			return
		}
		if nics == nil {
			t.Fatal("no NICs and no error")
		}
		assignDNS(nics, resolvConf{Nameservers: []string{"192.0.2.53"}}, nil)
	})
}

func FuzzIPRoute(f *testing.F) {
	for _, n := range []string{"ip-j-route.iproute2-6.1.0.debian12-vm.json", "ip-j-6-route.iproute2-6.1.0.debian12-vm.json",
		"netplan-test_status.ROUTE4.ip-d-j-4-route-show-table-all.json", "netplan-test_status.ROUTE6.ip-d-j-6-route-show-table-all.json"} {
		f.Add(ref(f, "ip/"+n))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if gws, err := parseIPRoute(b); err == nil && gws == nil {
			t.Fatal("no gateways map and no error")
		}
	})
}

func FuzzSS(f *testing.F) {
	seed(f, "ss")
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, proto := range []string{"tcp", "udp"} {
			ports, err := parseSS(b, proto)
			if err == nil && ports == nil {
				t.Fatal("no ports and no error")
			}
			for _, p := range ports {
				if p.Port < 0 || p.Port > 65535 || p.Address == "" {
					t.Fatalf("bad port %+v", p)
				}
			}
		}
	})
}

func FuzzOSRelease(f *testing.F) {
	seed(f, "os-release")
	f.Fuzz(func(t *testing.T, b []byte) {
		kv, err := parseOSRelease(b)
		if err == nil && kv["ID"] == "" && kv["NAME"] == "" {
			t.Fatal("accepted without ID or NAME")
		}
	})
}

func FuzzProc(f *testing.F) {
	seed(f, "proc")
	f.Fuzz(func(t *testing.T, b []byte) {
		if ci, err := parseCPUInfo(b); err == nil && ci.Logical == 0 {
			t.Fatal("cpuinfo without processors accepted")
		}
		_, _ = parseMeminfo(b)
		_, _ = parseSwaps(b)
		_, _ = parseSysBlock(b)
		_, _ = parseNetSys(b)
		_, _ = parseSecureBoot(b)
		_, _ = parseSystemUUID(b)
		_, _ = parseBootTime(b)
		_ = parseTimezone(b)
	})
}

func FuzzSystemctl(f *testing.F) {
	seed(f, "systemctl")
	f.Add([]byte(`[{"unit":"ssh.service","load":"loaded","active":"active","sub":"running","description":"OpenBSD Secure Shell server"}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if s, err := parseSystemctlUnits(b); err == nil && s == nil {
			t.Fatal("no services and no error")
		}
		_, _ = parseUnitFiles(b)
		_, _ = parseServiceStatusAll(b)
	})
}

func FuzzPackages(f *testing.F) {
	f.Add([]byte("ii \tbash\t5.2.15-2+b8\tamd64\tMatthias Klose <doko@debian.org>\n"))
	f.Add([]byte("bash\t5.1.8-9.el9\tx86_64\tRed Hat, Inc.\t1718000000\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if s, err := parseDpkg(b); err == nil && s == nil {
			t.Fatal("dpkg: nothing and no error")
		}
		if s, err := parseRPM(b); err == nil && s == nil {
			t.Fatal("rpm: nothing and no error")
		}
		_, _ = parseRebootRequired(b)
		_, _ = parseNeedsRestarting(b, 1)
	})
}
