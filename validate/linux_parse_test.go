package validate

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shift-migrate/shift/remote/shscript"
)

func TestParseUnits(t *testing.T) {
	out := []byte(`nginx.service loaded active running A high performance web server
● broken.service loaded failed failed Broken
ssh.socket loaded active listening OpenBSD Secure Shell server socket
srv.mount loaded active mounted /srv
`)
	got := parseUnits(out)
	want := []Unit{{"nginx.service", "running"}, {"srv.mount", "mounted"}, {"ssh.socket", "listening"}}
	if !slices.Equal(got, want) {
		t.Errorf("parseUnits = %v, want %v", got, want)
	}
}

func TestParseSS(t *testing.T) {
	out := []byte(`udp   UNCONN 0      0          127.0.0.53%lo:53        0.0.0.0:*
tcp   LISTEN 0      128              0.0.0.0:22        0.0.0.0:*
tcp   LISTEN 0      128                 [::]:22           [::]:*
tcp   LISTEN 0      244            127.0.0.1:5432      0.0.0.0:*
tcp   LISTEN 0      511                    *:80              *:*
garbage
`)
	got := parseSS(out)
	want := []Port{{"tcp", "0.0.0.0", 22}, {"tcp", "::", 22}, {"tcp", "*", 80}, {"tcp", "127.0.0.1", 5432}, {"udp", "127.0.0.53", 53}}
	if !slices.Equal(got, want) {
		t.Errorf("parseSS = %v, want %v", got, want)
	}
}

func TestParseFstabAndMountinfo(t *testing.T) {
	fstab := []byte(`# /etc/fstab
UUID=1111-aaaa /               ext4    errors=remount-ro 0       1
UUID=2222 none swap sw 0 0
/dev/sdb1 /srv/my\040data xfs defaults,noauto 0 2
nas:/export /mnt/nas nfs defaults 0 0
`)
	ms := parseFstab(fstab)
	if len(ms) != 3 || ms[1].Target != "/srv/my data" || !ms[1].NoAuto || ms[0].Source != "UUID=1111-aaaa" {
		t.Fatalf("parseFstab = %+v", ms)
	}
	mi := parseMountinfo([]byte(`22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
40 22 8:17 / /srv/my\040data rw - xfs /dev/sdb1 rw
`))
	if mi["/"] != "/dev/sda1" || mi["/srv/my data"] != "/dev/sdb1" {
		t.Errorf("parseMountinfo = %v", mi)
	}
}

func TestParseLsblk(t *testing.T) {
	fss, err := parseLsblk([]byte(`{"blockdevices":[{"path":"/dev/sda","fstype":null,"uuid":null,"label":null,"mountpoint":null,
	  "children":[{"path":"/dev/sda1","fstype":"ext4","uuid":"1111-aaaa","label":"root","mountpoint":"/"},
	              {"path":"/dev/sda2","fstype":"swap","uuid":"2222","label":null,"mountpoint":"[SWAP]"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(fss) != 2 || fss[0].UUID != "1111-aaaa" || fss[0].Mountpoint != "/" || fss[1].UUID != "2222" {
		t.Errorf("parseLsblk = %+v", fss)
	}
	if _, err := parseLsblk([]byte("lsblk: unknown column")); err == nil {
		t.Error("parseLsblk of text: no error")
	}
}

func TestParseDFBtimeEpoch(t *testing.T) {
	vs := parseDF([]byte(`Filesystem     Type     1-blocks        Used   Available Capacity Mounted on
/dev/sda1      ext4  10000000000  9800000000   200000000      98% /
tmpfs          tmpfs     1000000           0     1000000       0% /run
/dev/sdb1      xfs    5000000000  1000000000  4000000000      20% /srv/my data
`))
	want := []VolumeSpace{{"/", 10000000000, 200000000}, {"/srv/my data", 5000000000, 4000000000}}
	if !slices.Equal(vs, want) {
		t.Errorf("parseDF = %+v, want %+v", vs, want)
	}
	bt, err := parseBtime([]byte("cpu 1 2 3\nbtime 1700000000\nprocesses 5\n"))
	if err != nil || !bt.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("parseBtime = %v, %v", bt, err)
	}
	if _, err := parseBtime([]byte("cpu 1")); err == nil {
		t.Error("parseBtime without btime: no error")
	}
	e, err := parseEpoch([]byte("1700000000.250000000\n"))
	if err != nil || !e.Equal(time.Unix(1700000000, 250000000)) {
		t.Errorf("parseEpoch = %v, %v", e, err)
	}
	if _, err := parseEpoch([]byte("Tue Nov 14")); err == nil {
		t.Error("parseEpoch of a date string: no error")
	}
}

func TestParsePG(t *testing.T) {
	out := []byte(`{"k" : "v", "v" : "15.18"}
{"k" : "t", "d" : "app", "s" : "public", "t" : "b", "b" : 8192, "e" : 10}
{"k" : "t", "d" : "app", "s" : "public", "t" : "a", "b" : 16384, "e" : -1}
{"k" : "t", "d" : "app", "s" : "public", "t" : "big", "b" : 99999, "e" : 1000}
1234
{"k" : "s", "d" : "app", "s" : "public", "t" : "b", "r" : 10, "h" : "42", "x" : false}
{"k" : "s", "d" : "app", "s" : "public", "t" : "big", "r" : 12, "h" : "7", "x" : true}
`)
	v, dbs := parsePG(out, "ERROR:  canceling statement due to statement timeout")
	if v != "15.18" || len(dbs) != 1 || len(dbs[0].Tables) != 3 {
		t.Fatalf("parsePG = %q %+v", v, dbs)
	}
	ts := dbs[0].Tables
	if ts[0].Name != "a" || ts[0].Mode != TableSkipped || ts[1].Mode != TableFull || ts[1].Rows != 10 || ts[2].Mode != TableSampled {
		t.Errorf("tables = %+v", ts)
	}
	_, dbs = parsePG(out, "ERROR:  permission denied for table a")
	if ts := dbs[0].Tables; ts[0].Mode != TableError || ts[0].Error != "permission denied for table a" {
		t.Errorf("unreadable table = %+v", ts[0])
	}
}

func TestParseMySQL(t *testing.T) {
	v, dbs := parseMySQL([]byte("v\t10.11.6-MariaDB\nt\tshop\torders\t16384\t3\nt\tshop\tusers\t0\t0\nc\tshop\torders\t3\nshop.orders\t123456\nc\tshop\tusers\t0\nshop.users\tNULL\ne\t0\n"), "")
	if v != "10.11.6-MariaDB" || len(dbs) != 1 || len(dbs[0].Tables) != 2 {
		t.Fatalf("parseMySQL = %q %+v", v, dbs)
	}
	o, u := dbs[0].Tables[0], dbs[0].Tables[1]
	if o.Rows != 3 || o.Checksum != "123456" || o.Mode != TableFull || u.Mode != TableError {
		t.Errorf("tables = %+v", dbs[0].Tables)
	}

	// A database name with a dot: the checksum belongs to the table counted
	// just before it.
	_, dbs = parseMySQL([]byte("t\tv1.2\tt.x\t1\t1\nc\tv1.2\tt.x\t7\nv1.2.t.x\t99\ne\t0\n"), "")
	if len(dbs) != 1 || dbs[0].Name != "v1.2" || len(dbs[0].Tables) != 1 || dbs[0].Tables[0].Checksum != "99" || dbs[0].Tables[0].Mode != TableFull {
		t.Errorf("dotted names = %+v", dbs)
	}

	listed := "t\tshop\ta\t1\t1\nt\tshop\tb\t1\t1\nt\tshop\tc\t1\t1\nc\tshop\ta\t5\nshop.a\t11\nc\tshop\tb\t6\n"
	// The budget ran out while b was checksummed: b and c are skipped, not
	// read in full with an empty checksum.
	_, dbs = parseMySQL([]byte(listed+"e\t124\n"), "")
	if ts := dbs[0].Tables; ts[0].Mode != TableFull || ts[1].Mode != TableSkipped || ts[2].Mode != TableSkipped {
		t.Errorf("timed out: %+v", ts)
	}
	// The session failed on c (dropped meanwhile) and b: each table gets
	// the error that names it.
	stderr := "ERROR 1146 (42S02) at line 4: Table 'shop.c' doesn't exist\nERROR 1030 (HY000) at line 3: Got error 'shop.b' is marked as crashed\n"
	_, dbs = parseMySQL([]byte(listed+"e\t1\n"), stderr)
	if ts := dbs[0].Tables; ts[0].Mode != TableFull || ts[1].Mode != TableError || !strings.Contains(ts[1].Error, "'shop.b' is marked as crashed") ||
		ts[2].Mode != TableError || ts[2].Error != "Table 'shop.c' doesn't exist" {
		t.Errorf("failed: %+v", ts)
	}
}

// TestFingerprintStdout: the sections of the Linux probe hold stdout as
// fingerprints have always hashed it, whatever shscript keeps byte for byte.
func TestFingerprintStdout(t *testing.T) {
	m := shscript.NewMarker()
	out := []byte(m + " out a\nhello\n\n" + m + " err a 0\n" + m + " out b\n\n" + m + " err b 3\nno systemd\n" +
		m + " out c\nx\n\n\n" + m + " err c 0\n" + m + " out d\nno newline\n" + m + " err d 0\n" + m + " done\n")
	secs, complete := shscript.Split(out, m)
	want := map[string]string{"a": "hello", "b": "", "c": "x\n", "d": "no newline"}
	if !complete || len(secs) != len(want) || secs["b"].Code != 3 || secs["b"].FirstLine() != "no systemd" {
		t.Fatalf("Split = %+v, %v", secs, complete)
	}
	for name, w := range want {
		if got := fingerprintStdout(secs[name]); string(got) != w {
			t.Errorf("%s: stdout %q, want %q", name, got, w)
		}
	}
	for cut, w := range map[string]string{"partial": "partial\n", "line\n": "line\n", "": ""} {
		secs, complete = shscript.Split([]byte(m+" out a\n"+cut), m)
		if got := fingerprintStdout(secs["a"]); complete || secs["a"].Code != -1 || string(got) != w {
			t.Errorf("cut short after %q: %q (%+v, %v), want %q", cut, got, secs["a"], complete, w)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:pw@shop/health?token=abc&x=1#frag": "https://shop/health?token=redacted&x=redacted",
		"http://127.0.0.1:8080/":                         "http://127.0.0.1:8080/",
		"http://[::1:bad":                                "(unparsable URL)",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzParsers feeds the same bytes to every parser: none may panic.
func FuzzParsers(f *testing.F) {
	for _, s := range []string{
		"tcp LISTEN 0 128 0.0.0.0:22 0.0.0.0:*", "nginx.service loaded active running x",
		"UUID=1 / ext4 defaults 0 1", `22 1 8:1 / / rw - ext4 /dev/sda1 rw`,
		`{"blockdevices":[{"path":"/dev/sda","children":[{"uuid":"x"}]}]}`,
		"/dev/sda1 ext4 10 5 5 50% /", "btime 12", "12.5", `{"k":"s","d":"a","t":"b"}`,
		"t\ta\tb\t1\t2", "0 200 1", `a\04`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		parseUnits(b)
		parseSS(b)
		parseFstab(b)
		parseMountinfo(b)
		parseLsblk(b)
		parseDF(b)
		parseBtime(b)
		parseEpoch(b)
		parsePortRange(b)
		parsePG(b, string(b))
		parseMySQL(b, string(b))
		parseHTTP(b)
		secs, _ := shscript.Split(b, "@@m@@")
		for _, s := range secs {
			fingerprintStdout(s)
		}
		unescapeOctal(string(b))
	})
}
