package plan

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shift-migrate/shift/assess"
	"github.com/shift-migrate/shift/inventory"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var asOf = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

func winHost(name, hostname string) inventory.Host {
	return inventory.Host{
		Name: name, Address: "10.0.0.1", Transport: "winrm",
		Identity: inventory.Identity{Hostname: hostname, FQDN: strings.ToLower(hostname) + ".contoso.local", Domain: "contoso.local", Virtualization: "vmware"},
		OS:       inventory.OS{Family: "windows", ID: "windows", Name: "Microsoft Windows Server 2022 Standard", Version: "10.0.20348", Build: "20348", Architecture: "x86_64", EndOfSupport: "2031-10-14"},
		CPU:      inventory.CPU{Cores: 2, Logical: 4}, Memory: inventory.Memory{TotalBytes: 16 << 30},
		Firmware: inventory.Firmware{Type: "uefi", SecureBoot: inventory.Bool(false)},
		Disks: []inventory.Disk{
			{Name: "Disk 0", SizeBytes: 127 << 30, PartitionTable: "gpt", System: true, Boot: true},
			{Name: "Disk 1", SizeBytes: 200 << 30, PartitionTable: "gpt"},
		},
		Volumes: []inventory.Volume{
			{Device: `\\?\Volume{1}\`, Disk: "Disk 0", DriveLetter: "C", FSType: "ntfs", System: true, Dirty: inventory.Bool(false)},
			{Device: `\\?\Volume{2}\`, Disk: "Disk 1", DriveLetter: "D", FSType: "ntfs", Dirty: inventory.Bool(false)},
		},
		NICs:          []inventory.NIC{{Name: "Ethernet0", DHCP: inventory.Bool(true), Addresses: []inventory.IPAddress{{Address: "10.0.0.5", Prefix: 24, Family: "ipv4", Origin: "dhcp"}}}},
		PendingReboot: inventory.Bool(false),
		Power:         inventory.Power{Hibernation: inventory.Bool(false), FastStartup: inventory.Bool(false)},
	}
}

func farm() *inventory.SharePointFarm {
	return &inventory.SharePointFarm{
		Build: "16.0.10337.12109", ConfigDatabase: "SP_Config",
		Servers: []inventory.SharePointServer{
			{Name: "SPWEB01", Role: "WebFrontEnd"},
			{Name: "spapp01.contoso.local", Role: "Application"},
			// SharePoint lists its outgoing mail server as a server too.
			{Name: "mail.contoso.local", Role: "Invalid"},
		},
		WebApplications:  []inventory.SharePointWebApp{{Name: "SharePoint - 80", URL: "http://spweb01/"}},
		ContentDatabases: []inventory.SharePointContentDB{{Name: "WSS_Content", Server: `SQL01\SHAREPOINT`}},
	}
}

// farmInventory is a three-server SharePoint farm (two SharePoint servers
// and the SQL Server of its content database), a mail server the farm names
// but does not contain, a Linux database and web server, a host with a
// blocker and one discovery could not reach.
func farmInventory() *inventory.Inventory {
	inv := inventory.New("test", time.Date(2025, 5, 30, 12, 0, 0, 0, time.UTC))
	web := winHost("sp-web01", "SPWEB01")
	web.SharePoint = farm()
	app := winHost("sp-app01", "SPAPP01")
	app.SharePoint = farm()
	sql := winHost("sql01", "SQL01")
	sql.SQLServer = []inventory.SQLInstance{{Name: "SHAREPOINT", Version: "15.0.4355.3", EndOfSupport: "2030-01-08"}}
	sql.NICs[0].DHCP = inventory.Bool(false)
	sql.NICs[0].Addresses[0].Origin = "static"
	mail := winHost("mail01", "MAIL")
	blocked := winHost("fin-db01", "FINDB01")
	blocked.Firmware.SecureBoot = inventory.Bool(true)
	lost := inventory.Host{Name: "lost01", Address: "10.0.0.99", Transport: "ssh",
		Errors: []inventory.Error{{Step: "connect", Kind: inventory.ErrUnreachable, Message: "dial tcp 10.0.0.99:22: no route to host", Hint: "check the address and the firewall"}}}
	lin := inventory.Host{
		Name: "lin-db01", Address: "10.0.0.7", Transport: "ssh",
		Identity: inventory.Identity{Hostname: "lin-db01", Virtualization: "kvm"},
		OS:       inventory.OS{Family: "linux", ID: "debian", Name: "Debian GNU/Linux 12 (bookworm)", Version: "12", Kernel: "6.1.0-18-amd64", Architecture: "x86_64", EndOfSupport: "2028-06-30"},
		CPU:      inventory.CPU{Cores: 2, Logical: 2}, Memory: inventory.Memory{TotalBytes: 4 << 30},
		Firmware: inventory.Firmware{Type: "bios"},
		Disks: []inventory.Disk{{Name: "/dev/sda", SizeBytes: 32 << 30, PartitionTable: "mbr", System: true, Boot: true},
			{Name: "/dev/sdb", SizeBytes: 8 << 30, Removable: true}},
		NICs:     []inventory.NIC{{Name: "eth0", DHCP: inventory.Bool(true), Addresses: []inventory.IPAddress{{Address: "10.0.0.7", Prefix: 24, Family: "ipv4", Origin: "dhcp"}}}},
		Services: []inventory.Service{{Name: "postgresql@15-main", State: "running"}, {Name: "nginx", State: "running"}},
		Ports: []inventory.Port{{Protocol: "tcp", Address: "0.0.0.0", Port: 80, Process: "nginx"}, {Protocol: "tcp", Address: "::", Port: 80, Process: "nginx"},
			{Protocol: "tcp", Address: "0.0.0.0", Port: 443, Process: "nginx"}, {Protocol: "tcp", Address: "127.0.0.1", Port: 5432, Process: "postgres"},
			{Protocol: "tcp", Address: "0.0.0.0", Port: 22, Process: "sshd"}},
		PendingReboot: inventory.Bool(false),
	}
	inv.Hosts = []inventory.Host{web, app, sql, mail, blocked, lost, lin}
	inv.Sort()
	return inv
}

func draftOf(t *testing.T, inv *inventory.Inventory, opts DraftOptions) (*Plan, *assess.Result) {
	t.Helper()
	res, err := assess.Assess(inv, assess.Options{AsOf: asOf, Generator: "shift test"})
	if err != nil {
		t.Fatal(err)
	}
	p := Draft(inv, res, opts)
	if err := p.Check(); err != nil {
		t.Fatalf("the draft does not pass its own checks:\n%v", err)
	}
	return p, res
}

func waveHosts(w *Wave) string {
	var names []string
	for _, h := range w.Hosts {
		names = append(names, h.Name)
	}
	return strings.Join(names, ",")
}

func TestDraftGroupsDependencies(t *testing.T) {
	p, _ := draftOf(t, farmInventory(), DraftOptions{Name: "contoso", Hosts: "h.yaml", Generator: "shift test"})
	var got []string
	for i := range p.Waves {
		w := &p.Waves[i]
		got = append(got, w.Name+"="+waveHosts(w))
	}
	want := "all=lin-db01,mail01 sharepoint-sp-app01=sp-app01,sp-web01,sql01 not-ready=fin-db01,lost01"
	if strings.Join(got, " ") != want {
		t.Fatalf("waves\n%s\nwant\n%s", strings.Join(got, " "), want)
	}
	farmWave := p.Wave("sharepoint-sp-app01")
	if farmWave.Hold || !strings.Contains(farmWave.Comment, "sql01 holds content database WSS_Content of the SharePoint farm SP_Config") ||
		!strings.Contains(farmWave.Comment, "sp-app01 and sp-web01 are servers of the SharePoint farm SP_Config") {
		t.Errorf("farm wave: hold %v comment %q", farmWave.Hold, farmWave.Comment)
	}
	for _, n := range []string{"sp-app01", "sp-web01"} {
		e, _ := p.Effective(n)
		if strings.Join(e.DependsOn, ",") != "sql01" || e.Checks.SharePoint == nil {
			t.Errorf("%s: dependsOn %v, sharePoint check %v: SharePoint cuts over after its SQL Server", n, e.DependsOn, e.Checks.SharePoint)
		}
	}
	web, _ := p.Effective("sp-web01")
	if len(web.Checks.HTTP) != 1 || web.Checks.HTTP[0].URL != "http://spweb01/" {
		t.Errorf("sp-web01 http checks %+v", web.Checks.HTTP)
	}
	sql, _ := p.Effective("sql01")
	if sql.Checks.SQLServer == nil || time.Duration(sql.Checks.SQLServer.Budget) != 2*time.Minute || len(sql.DependsOn) != 0 {
		t.Errorf("sql01 %+v", sql)
	}
	if len(sql.NICs) != 1 || sql.NICs[0] != (NIC{Source: "Ethernet0", KeepStaticIP: true}) {
		t.Errorf("sql01 static NIC not kept: %+v", sql.NICs)
	}
	if sql.Size.CPUs == 0 || sql.Size.Memory < 16<<30 || sql.Size.VMSize != "" {
		t.Errorf("local target: size should be cpus/memory from the assessment: %+v", sql.Size)
	}
	if strings.Join(sql.Disks.Include, ",") != "Disk 0,Disk 1" {
		t.Errorf("sql01 disks %+v", sql.Disks)
	}
	lin, _ := p.Effective("lin-db01")
	if lin.Checks.Linux == nil || len(lin.Checks.Linux.Databases) != 1 || lin.Checks.Linux.Databases[0].Engine != "postgresql" {
		t.Errorf("lin-db01 database checks %+v", lin.Checks.Linux)
	}
	var urls []string
	for _, h := range lin.Checks.HTTP {
		urls = append(urls, h.URL)
	}
	if strings.Join(urls, " ") != "http://localhost:80/ https://localhost:443/" {
		t.Errorf("lin-db01 http checks %v", urls)
	}
	if strings.Join(lin.Disks.Include, ",") != "/dev/sda" {
		t.Errorf("lin-db01: the removable disk should stay behind: %+v", lin.Disks)
	}
	mail, _ := p.Effective("mail01")
	if mail.Checks.SQLServer != nil || mail.Checks.SharePoint != nil || mail.Wave != "all" {
		t.Errorf("mail01 (named by the farm with role Invalid) must not join it: %+v", mail)
	}
	held := p.Wave(HeldWave)
	if !held.Hold {
		t.Error("not-ready wave is not held")
	}
	if c := held.Hosts[0].Comment; !strings.Contains(c, "blocked: firmware.secure-boot") || !strings.Contains(c, "fix: ") {
		t.Errorf("fin-db01 comment %q", c)
	}
	if c := held.Hosts[1].Comment; !strings.Contains(c, "not assessed: discovery connect (unreachable): dial tcp 10.0.0.99:22: no route to host") ||
		!strings.Contains(c, "fix: check the address and the firewall") {
		t.Errorf("lost01 comment %q", c)
	}
	for _, n := range []string{"fin-db01", "lost01"} {
		if e, _ := p.Effective(n); !e.Hold {
			t.Errorf("%s is not held", n)
		}
	}
}

// TestDraftHoldsGroup: a group with a member that cannot move is held as a
// whole rather than split.
func TestDraftHoldsGroup(t *testing.T) {
	inv := farmInventory()
	inv.Host("sql01").Firmware.SecureBoot = inventory.Bool(true)
	p, _ := draftOf(t, inv, DraftOptions{})
	w := p.Wave("sharepoint-sp-app01")
	if w == nil || waveHosts(w) != "sp-app01,sp-web01,sql01" || !w.Hold || !strings.Contains(w.Comment, "Held as a whole: sql01 cannot move as is") {
		t.Fatalf("farm wave %+v", w)
	}
	if held := p.Wave(HeldWave); waveHosts(held) != "fin-db01,lost01" {
		t.Errorf("not-ready wave %s", waveHosts(held))
	}
}

// TestDraftAzure: for Azure the sizes are VM size names and the disks carry
// the assessment's tier.
func TestDraftAzure(t *testing.T) {
	target := Target{Kind: KindAzure, Azure: &AzureTarget{Subscription: "0b1f6471-1bf0-4dda-aec3-cb9272f09590", ResourceGroup: "rg", Location: "eastus"}}
	p, res := draftOf(t, farmInventory(), DraftOptions{Target: target})
	e, _ := p.Effective("sql01")
	want := res.Host("sql01").Sizing
	if e.Size.VMSize == "" || e.Size.VMSize != want.VMSize || e.Disks.Type != assess.DefaultDiskTier {
		t.Errorf("sql01 size %+v disks %+v, want %s on %s", e.Size, e.Disks, want.VMSize, assess.DefaultDiskTier)
	}
	if !strings.Contains(p.Waves[0].Hosts[0].Comment, "sized as-is: ") {
		t.Errorf("comment %q", p.Waves[0].Hosts[0].Comment)
	}
}

// TestDraftRoundTrip: the written draft loads back to the same plan, and
// writing that again gives the same bytes. The golden file shows what an
// operator gets (go test -update rewrites it).
func TestDraftRoundTrip(t *testing.T) {
	p, _ := draftOf(t, farmInventory(), DraftOptions{Name: "contoso", Generator: "shift test"})
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "draft.golden.yaml")
	if *update {
		if err := os.WriteFile(golden, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if want, err := os.ReadFile(golden); err != nil || !bytes.Equal(b, want) {
		t.Errorf("draft differs from %s (go test -update to accept):\n%s", golden, b)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "waves.yaml")
	if err := p.WriteFile(path, false); err != nil {
		t.Fatal(err)
	}
	q, err := Load(path)
	if err != nil {
		t.Fatalf("the draft does not load:\n%v\n%s", err, b)
	}
	if q.Digest() != p.Digest() {
		t.Error("digest changed over write and load")
	}
	b2, err := q.Marshal()
	if err != nil || !bytes.Equal(b, b2) {
		t.Errorf("written again differs (%v):\n%s", err, b2)
	}
	strip := func(p *Plan) []Wave {
		ws := append([]Wave(nil), p.Waves...)
		for i := range ws {
			ws[i].Comment, ws[i].Pos = "", Pos{}
			ws[i].Hosts = append([]Host(nil), ws[i].Hosts...)
			for j := range ws[i].Hosts {
				ws[i].Hosts[j].Comment, ws[i].Hosts[j].Pos = "", Pos{}
			}
		}
		return ws
	}
	if !reflect.DeepEqual(strip(p), strip(q)) {
		t.Errorf("waves differ after the round trip:\n%+v\n%+v", strip(p), strip(q))
	}
	if q.Waves[len(q.Waves)-1].Hosts[0].Comment == "" {
		t.Error("host comments were not written")
	}

	if err := p.WriteFile(path, false); err == nil || !strings.Contains(err.Error(), "file exists") {
		t.Errorf("overwrite without force: %v", err)
	}
	p.Name = "renamed"
	if err := p.WriteFile(path, true); err != nil {
		t.Fatal(err)
	}
	if r, err := Load(path); err != nil || r.Name != "renamed" || r.Digest() == q.Digest() {
		t.Errorf("overwrite: %v, digest unchanged %v", err, r != nil && r.Digest() == q.Digest())
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".plan-*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestDigest: the digest follows meaning, not spelling.
func TestDigest(t *testing.T) {
	base := minimal + "        bandwidth: 50M\n"
	p1, _ := Parse("a.yaml", []byte(base))
	same := strings.Replace(base, "50M", "50MiB/s", 1)
	same = strings.Replace(same, "version: 1\n", "# a comment\nversion: 1\ndefaults: {concurrency: 4, approval: manual}\n", 1)
	p2, err := Parse("b.yaml", []byte(same))
	if err != nil {
		t.Fatal(err)
	}
	if p1.Digest() != p2.Digest() {
		t.Error("spelling and explicit defaults changed the digest")
	}
	moved := strings.Replace(base, "    hosts:", "    approval: manual\n    hosts:", 1)
	if p3, _ := Parse("c.yaml", []byte(moved)); p3.Digest() != p1.Digest() {
		t.Error("a setting written on the wave instead of inherited changed the digest")
	}
	changed := strings.Replace(base, "50M", "60M", 1)
	if p4, _ := Parse("d.yaml", []byte(changed)); p4.Digest() == p1.Digest() {
		t.Error("a changed bandwidth kept the digest")
	}
	if p5, _ := Parse("e.yaml", []byte(base+"        approval: automatic\n")); p5.Digest() == p1.Digest() {
		t.Error("a changed approval kept the digest")
	}
	if !strings.HasPrefix(p1.Digest(), "sha256:") || len(p1.Digest()) != 71 {
		t.Errorf("digest %s", p1.Digest())
	}
}
