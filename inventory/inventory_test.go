package inventory

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	inv := New("shift test", at)
	inv.Hosts = append(inv.Hosts,
		Host{Name: "web01", Transport: "ssh", Firmware: Firmware{Type: "uefi", SecureBoot: Bool(false)},
			Volumes: []Volume{{Device: "/dev/sda2", FSType: "ext4", UsedBytes: Uint64(0)}}},
		Host{Name: "db01", Transport: "winrm", SQLServer: []SQLInstance{{Name: "MSSQLSERVER", Databases: []SQLDatabase{{Name: "Sales", State: "ONLINE"}}}}},
	)
	inv.Sort()
	var buf bytes.Buffer
	if err := inv.Write(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if got.Hosts[0].Name != "db01" || got.Host("web01") == nil || got.Host("nope") != nil {
		t.Fatalf("hosts not sorted or not found: %+v", got.Hosts)
	}
	w := got.Host("web01")
	// Tri-state fields survive: false and 0 are not the same as unknown.
	if w.Firmware.SecureBoot == nil || *w.Firmware.SecureBoot || w.Volumes[0].UsedBytes == nil {
		t.Fatalf("tri-state lost: %+v", w)
	}
	if got.Hosts[0].SQLServer[0].Databases[0].State != "ONLINE" || !got.GeneratedAt.Equal(at) {
		t.Fatalf("round trip changed data: %+v", got)
	}
}

func TestReadRefusesOtherDocuments(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"hosts":[]}`, "no schemaVersion"},
		{`{"schemaVersion":99,"hosts":[]}`, "newer than this shift understands"},
		{`[1,2]`, "decode"},
	} {
		_, err := Read(strings.NewReader(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Read(%s) = %v, want %q", c.in, err, c.want)
		}
	}
}

func TestUnknownStaysAbsent(t *testing.T) {
	b, err := json.Marshal(Host{Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{"secureBoot", "pendingReboot", "usedBytes", "hibernation", "discoveredAt"} {
		if strings.Contains(string(b), field) {
			t.Errorf("unknown %s is written: %s", field, b)
		}
	}
}

func TestReachable(t *testing.T) {
	h := Host{}
	h.AddError(Error{Step: "sqlserver", Kind: ErrProbe})
	if !h.Reachable() || h.OK() {
		t.Fatal("a probe error does not make a host unreachable")
	}
	h.AddError(Error{Step: "connect", Kind: ErrAuth})
	if h.Reachable() {
		t.Fatal("an auth error makes a host unreachable")
	}
}

func TestFailedIgnoresNotes(t *testing.T) {
	h := Host{}
	h.AddError(Error{Step: "services", Kind: ErrUnsupported})
	if h.Failed() || h.OK() {
		t.Fatal("an unsupported-tool note is not a failure, but it is not silence either")
	}
	h.AddError(Error{Step: "privileges", Kind: ErrPermission})
	if !h.Failed() {
		t.Fatal("a permission error leaves the inventory incomplete")
	}
}
