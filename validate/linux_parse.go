package validate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Parsers of the commands the Linux probe runs. Each takes the command's
// stdout and never panics on odd input (see the fuzz test).

// parseUnits reads "systemctl list-units --plain --no-legend" lines:
// UNIT LOAD ACTIVE SUB DESCRIPTION…
func parseUnits(out []byte) []Unit {
	var us []Unit
	for _, l := range lines(out) {
		f := strings.Fields(l)
		// A failed unit is prefixed with a "●" column on some versions.
		if len(f) > 0 && !strings.Contains(f[0], ".") {
			f = f[1:]
		}
		if len(f) < 4 || f[2] != "active" {
			continue
		}
		us = append(us, Unit{Name: f[0], Sub: f[3]})
	}
	slices.SortFunc(us, func(a, b Unit) int { return strings.Compare(a.Name, b.Name) })
	return slices.CompactFunc(us, func(a, b Unit) bool { return a.Name == b.Name })
}

// parseSS reads "ss -Hltnu" lines: Netid State Recv-Q Send-Q Local Peer.
func parseSS(out []byte) []Port {
	var ps []Port
	for _, l := range lines(out) {
		f := strings.Fields(l)
		if len(f) < 5 {
			continue
		}
		proto := f[0]
		if proto != "tcp" && proto != "udp" {
			continue
		}
		host, port, ok := splitHostPort(f[4])
		if !ok {
			continue
		}
		ps = append(ps, Port{Proto: proto, Address: host, Port: port})
	}
	return sortPorts(ps)
}

// splitHostPort splits ss's local address: "0.0.0.0:22", "[::]:22",
// "*:22", "127.0.0.1%lo:53", "[fe80::1]%eth0:123".
func splitHostPort(s string) (string, int, bool) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return "", 0, false
	}
	port, err := strconv.Atoi(s[i+1:])
	if err != nil || port < 0 || port > 65535 {
		return "", 0, false
	}
	host := s[:i]
	if j := strings.IndexByte(host, '%'); j >= 0 {
		host = host[:j]
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	return host, port, true
}

func sortPorts(ps []Port) []Port {
	slices.SortFunc(ps, func(a, b Port) int {
		if c := strings.Compare(a.Proto, b.Proto); c != 0 {
			return c
		}
		if a.Port != b.Port {
			return a.Port - b.Port
		}
		return strings.Compare(a.Address, b.Address)
	})
	return slices.Compact(ps)
}

// parseFstab reads /etc/fstab: the filesystems it mounts, swap and comments
// left out. Octal escapes (\040 for a space) are decoded.
func parseFstab(out []byte) []Mount {
	var ms []Mount
	for _, l := range lines(out) {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		f := strings.Fields(l)
		if len(f) < 3 {
			continue
		}
		target := unescapeOctal(f[1])
		if f[2] == "swap" || target == "none" || !strings.HasPrefix(target, "/") {
			continue
		}
		m := Mount{Target: target, Source: unescapeOctal(f[0]), FSType: f[2]}
		if len(f) > 3 {
			m.Options = f[3]
			m.NoAuto = slices.Contains(strings.Split(f[3], ","), "noauto")
		}
		ms = append(ms, m)
	}
	return ms
}

func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// parseMountinfo reads /proc/self/mountinfo: mount point → source.
func parseMountinfo(out []byte) map[string]string {
	m := map[string]string{}
	for _, l := range lines(out) {
		pre, post, ok := strings.Cut(l, " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 2 {
			continue
		}
		m[unescapeOctal(f[4])] = unescapeOctal(g[1])
	}
	return m
}

// parseLsblk reads "lsblk -J -o PATH,FSTYPE,UUID,LABEL,MOUNTPOINT": the
// block devices that hold a filesystem, children included.
func parseLsblk(out []byte) ([]Filesystem, error) {
	type dev struct {
		Path       string `json:"path"`
		Name       string `json:"name"`
		FSType     string `json:"fstype"`
		UUID       string `json:"uuid"`
		Label      string `json:"label"`
		Mountpoint string `json:"mountpoint"`
		Children   []dev  `json:"children"`
	}
	var doc struct {
		Devices []dev `json:"blockdevices"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return nil, fmt.Errorf("lsblk output: %w", err)
	}
	var fss []Filesystem
	var walk func([]dev, int)
	walk = func(ds []dev, depth int) {
		if depth > 16 {
			return
		}
		for _, d := range ds {
			if d.FSType != "" && d.FSType != "swap" || d.UUID != "" {
				p := d.Path
				if p == "" {
					p = "/dev/" + d.Name
				}
				fss = append(fss, Filesystem{Device: p, FSType: d.FSType, UUID: d.UUID, Label: d.Label, Mountpoint: d.Mountpoint})
			}
			walk(d.Children, depth+1)
		}
	}
	walk(doc.Devices, 0)
	return fss, nil
}

// ignoredFS are filesystem types whose free space says nothing.
var ignoredFS = []string{"tmpfs", "devtmpfs", "squashfs", "ramfs", "iso9660", "udf", "efivarfs", "proc", "sysfs", "devpts", "nsfs", "fuse.snapfuse"}

// parseDF reads "df -PT -B1": Filesystem Type 1-blocks Used Available
// Capacity Mounted-on (which may hold spaces).
func parseDF(out []byte) []VolumeSpace {
	var vs []VolumeSpace
	for i, l := range lines(out) {
		f := strings.Fields(l)
		if i == 0 && len(f) > 0 && f[0] == "Filesystem" || len(f) < 7 {
			continue
		}
		if slices.Contains(ignoredFS, f[1]) {
			continue
		}
		size, err1 := strconv.ParseUint(f[2], 10, 64)
		free, err2 := strconv.ParseUint(f[4], 10, 64)
		if err1 != nil || err2 != nil || size == 0 {
			continue
		}
		vs = append(vs, VolumeSpace{Mount: strings.Join(f[6:], " "), SizeBytes: size, FreeBytes: free})
	}
	slices.SortFunc(vs, func(a, b VolumeSpace) int { return strings.Compare(a.Mount, b.Mount) })
	return slices.CompactFunc(vs, func(a, b VolumeSpace) bool { return a.Mount == b.Mount })
}

// parseBtime reads the btime line of /proc/stat.
func parseBtime(out []byte) (time.Time, error) {
	for _, l := range lines(out) {
		if v, ok := strings.CutPrefix(l, "btime "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil || n <= 0 {
				return time.Time{}, fmt.Errorf("btime %q", v)
			}
			return time.Unix(n, 0).UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("no btime line in /proc/stat")
}

// parseEpoch reads "date +%s.%N" (busybox prints a literal %N or nothing).
func parseEpoch(out []byte) (time.Time, error) {
	s := strings.TrimSpace(string(out))
	sec, frac, _ := strings.Cut(s, ".")
	n, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}, fmt.Errorf("host clock %q is not seconds since 1970", s)
	}
	t := time.Unix(n, 0)
	if f, err := strconv.ParseFloat("0."+frac, 64); err == nil && !math.IsNaN(f) && f < 1 {
		t = t.Add(time.Duration(f * float64(time.Second)))
	}
	return t, nil
}

// parsePortRange reads /proc/sys/net/ipv4/ip_local_port_range.
func parsePortRange(out []byte) [2]int {
	f := strings.Fields(string(out))
	if len(f) == 2 {
		lo, err1 := strconv.Atoi(f[0])
		hi, err2 := strconv.Atoi(f[1])
		if err1 == nil && err2 == nil && 0 < lo && lo <= hi && hi <= 65535 {
			return [2]int{lo, hi}
		}
	}
	return [2]int{32768, 60999}
}

// pgLine is one JSON line of the PostgreSQL step: a table ("t") with its
// size, or a checksum ("s") of one.
type pgLine struct {
	Kind     string  `json:"k"`
	DB       string  `json:"d"`
	Schema   string  `json:"s"`
	Table    string  `json:"t"`
	Bytes    int64   `json:"b"`
	Estimate float64 `json:"e"`
	Rows     int64   `json:"r"`
	MD5      string  `json:"h"`
	Sampled  bool    `json:"x"`
	Version  string  `json:"v"`
}

// parsePG reads the PostgreSQL step's output: JSON lines, anything else
// (psql notices, set_config results) ignored. It returns the databases in
// the order seen, their tables sorted by schema and name.
func parsePG(out []byte, stderr string) (version string, dbs []Database) {
	idx := map[string]int{}
	tables := map[string]map[[2]string]*Table{}
	for _, l := range lines(out) {
		if !strings.HasPrefix(l, "{") {
			continue
		}
		var p pgLine
		if json.Unmarshal([]byte(l), &p) != nil {
			continue
		}
		if p.Kind == "v" {
			version = p.Version
			continue
		}
		if _, ok := idx[p.DB]; !ok {
			idx[p.DB] = len(dbs)
			dbs = append(dbs, Database{Engine: "postgresql", Name: p.DB})
			tables[p.DB] = map[[2]string]*Table{}
		}
		key := [2]string{p.Schema, p.Table}
		t := tables[p.DB][key]
		if t == nil {
			t = &Table{Schema: p.Schema, Name: p.Table, Mode: TableSkipped}
			tables[p.DB][key] = t
		}
		switch p.Kind {
		case "t":
			t.SizeBytes, t.EstimatedRows = p.Bytes, int64(max(p.Estimate, 0))
		case "s":
			t.Rows, t.Checksum, t.Mode = p.Rows, p.MD5, TableFull
			if p.Sampled {
				t.Mode = TableSampled
			}
		}
	}
	timedOut := strings.Contains(stderr, "statement timeout")
	firstErr := ""
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, "ERROR:") && !strings.Contains(l, "statement timeout") {
			firstErr = strings.TrimSpace(l[strings.Index(l, "ERROR:")+len("ERROR:"):])
			break
		}
	}
	for i := range dbs {
		for _, t := range tables[dbs[i].Name] {
			if t.Mode == TableSkipped && !timedOut && firstErr != "" {
				t.Mode, t.Error = TableError, firstErr
			}
			dbs[i].Tables = append(dbs[i].Tables, *t)
		}
		slices.SortFunc(dbs[i].Tables, func(a, b Table) int {
			return strings.Compare(a.Schema+"\x00"+a.Name, b.Schema+"\x00"+b.Name)
		})
	}
	return version, dbs
}

// parseMySQL reads the MySQL step's output: tab-separated lines
// "v version", "t db table bytes estimate", "c db table rows", CHECKSUM
// TABLE's "db.table checksum" and last "e status", the reading session's
// exit status. A table is read in full once it has both its count and its
// checksum. The rest were skipped by the budget when the session timed out
// (status 124), else they failed with the error on stderr that names them
// (or the first one).
func parseMySQL(out []byte, stderr string) (version string, dbs []Database) {
	idx := map[string]int{}
	find := func(db, name string) *Table {
		i, ok := idx[db]
		if !ok {
			i = len(dbs)
			idx[db] = i
			dbs = append(dbs, Database{Engine: "mysql", Name: db})
		}
		for j := range dbs[i].Tables {
			if dbs[i].Tables[j].Name == name {
				return &dbs[i].Tables[j]
			}
		}
		dbs[i].Tables = append(dbs[i].Tables, Table{Name: name, Mode: TableSkipped})
		return &dbs[i].Tables[len(dbs[i].Tables)-1]
	}
	counted := map[[2]string]bool{}
	var last [2]string // the table of the last count: its checksum comes next
	status := 0
	for _, l := range lines(out) {
		f := strings.Split(l, "\t")
		switch {
		case len(f) == 2 && f[0] == "v":
			version = f[1]
		case len(f) == 2 && f[0] == "e":
			status, _ = strconv.Atoi(f[1])
		case len(f) == 5 && f[0] == "t":
			t := find(f[1], f[2])
			t.SizeBytes, _ = strconv.ParseInt(f[3], 10, 64)
			t.EstimatedRows, _ = strconv.ParseInt(f[4], 10, 64)
		case len(f) == 4 && f[0] == "c":
			t := find(f[1], f[2])
			t.Rows, _ = strconv.ParseInt(f[3], 10, 64)
			last = [2]string{f[1], f[2]}
			counted[last] = true
		case len(f) == 2 && strings.Contains(f[0], "."):
			// CHECKSUM TABLE names the table db.table; a database name may
			// hold a dot, so the count just before says which table it is.
			key := last
			if f[0] != last[0]+"."+last[1] {
				key[0], key[1], _ = strings.Cut(f[0], ".")
			}
			t := find(key[0], key[1])
			if f[1] == "NULL" {
				t.Mode, t.Error = TableError, "CHECKSUM TABLE returned NULL (table missing or unreadable)"
				continue
			}
			t.Checksum = f[1]
			if counted[key] {
				t.Mode = TableFull
			}
		}
	}
	errs := mysqlErrors(stderr)
	for i := range dbs {
		for j := range dbs[i].Tables {
			t := &dbs[i].Tables[j]
			named := ""
			for _, e := range errs {
				if strings.Contains(e, "'"+dbs[i].Name+"."+t.Name+"'") || strings.Contains(e, "`"+t.Name+"`") {
					named = e
					break
				}
			}
			switch {
			case t.Mode == TableError && named != "":
				t.Error = named // the server's reason beats CHECKSUM TABLE's NULL
			case t.Mode == TableSkipped && status != 0 && status != 124 && len(errs) > 0:
				t.Mode, t.Error = TableError, orDefault(named, errs[0])
			}
		}
		slices.SortFunc(dbs[i].Tables, func(a, b Table) int { return strings.Compare(a.Name, b.Name) })
	}
	return version, dbs
}

// mysqlErrors returns the client's error messages ("ERROR 1146 (42S02) at
// line 3: Table 'shop.x' doesn't exist") without the "ERROR … at line N: "
// prefix.
func mysqlErrors(stderr string) []string {
	var errs []string
	for _, l := range strings.Split(stderr, "\n") {
		if !strings.HasPrefix(l, "ERROR ") {
			continue
		}
		if _, msg, ok := strings.Cut(l, ": "); ok {
			l = msg
		}
		errs = append(errs, strings.TrimSpace(l))
	}
	return errs
}

// parseHTTP reads the HTTP step: "NAME-INDEX STATUS CONTAINS" per check,
// CONTAINS being 1, 0 or -.
func parseHTTP(out []byte) map[int][2]string {
	res := map[int][2]string{}
	for _, l := range lines(out) {
		f := strings.Fields(l)
		if len(f) != 3 {
			continue
		}
		i, err := strconv.Atoi(f[0])
		if err != nil {
			continue
		}
		res[i] = [2]string{f[1], f[2]}
	}
	return res
}

func lines(out []byte) []string {
	var ls []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		ls = append(ls, sc.Text())
	}
	return ls
}

// isWildcard reports whether a listening address accepts on every
// interface.
func isWildcard(addr string) bool {
	if addr == "*" || addr == "" {
		return true
	}
	ip := net.ParseIP(addr)
	return ip != nil && ip.IsUnspecified()
}
