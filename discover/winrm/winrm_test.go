package winrm

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/shift-migrate/shift/fixtures/windows"
	"github.com/shift-migrate/shift/fixtures/winrmserver"
	"github.com/shift-migrate/shift/inventory"
	"github.com/shift-migrate/shift/remote"
)

// TestProbePresetsOverWinRM probes every preset through the real WinRM client
// (masterzen/winrm) and the fixture WinRM server on loopback, over HTTP with
// Basic and over HTTPS with NTLM, and checks that the inventory is the one the
// direct runner gives (testdata/golden), or an auth error for the preset that
// refuses the lab password.
func TestProbePresetsOverWinRM(t *testing.T) {
	ca, err := winrmserver.NewCA("shift test CA")
	if err != nil {
		t.Fatal(err)
	}
	tlsCfg, err := ca.ServerTLS("127.0.0.1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	for _, preset := range windows.Presets() {
		want := probePreset(t, preset, nil)
		for _, mode := range []struct {
			name  string
			https bool
			auth  string
		}{{"http-basic", false, "basic"}, {"https-ntlm", true, "ntlm"}} {
			t.Run(preset+"/"+mode.name, func(t *testing.T) {
				t.Parallel()
				fx, err := windows.Load(preset)
				if err != nil {
					t.Fatal(err)
				}
				opts := winrmserver.Options{ComputerName: fx.Hostname()}
				if mode.https {
					opts.TLS = tlsCfg
				}
				srv, err := winrmserver.Listen("127.0.0.1:0", fx, opts)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { srv.Close() })
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				client, err := remote.DialWinRM(ctx, remote.WinRMConfig{
					Host: preset, Address: "127.0.0.1", Port: srv.Port(), HTTPS: mode.https, CACert: ca.PEM(),
					Auth: mode.auth, User: fx.LabUser(), Password: remote.NewSecret(fx.LabPassword()), Timeout: 30 * time.Second,
				})
				if err != nil {
					t.Fatal(err)
				}
				defer client.Close()
				got := &inventory.Host{Name: preset, Address: "127.0.0.1", Transport: "winrm"}
				Probe(ctx, client, got)

				if preset == "ws2016-badpass" {
					if len(got.Errors) != 1 || got.Errors[0].Kind != inventory.ErrAuth || got.Reachable() || got.OS.Name != "" {
						t.Fatalf("errors = %+v, want one auth error", got.Errors)
					}
					if b, _ := json.Marshal(got); strings.Contains(string(b), fx.LabPassword()) {
						t.Errorf("the password appears in the inventory: %s", b)
					}
					return
				}
				if !got.OK() {
					t.Fatalf("errors = %+v", got.Errors)
				}
				gb, _ := json.Marshal(got)
				wb, _ := json.Marshal(want)
				if string(gb) != string(wb) {
					t.Errorf("inventory over WinRM differs from the direct probe:\n got %s\nwant %s", gb, wb)
				}
			})
		}
	}
}

// TestUnknownScriptOverWinRM sends scripts the fixture does not know through
// the real client: the run fails loudly, naming the preset and the probe.
func TestUnknownScriptOverWinRM(t *testing.T) {
	fx, err := windows.Load("ws2019-sql2019-sp2019")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := winrmserver.Listen("127.0.0.1:0", fx, winrmserver.Options{ComputerName: fx.Hostname()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client, err := remote.DialWinRM(ctx, remote.WinRMConfig{Host: "sp19", Address: "127.0.0.1", Port: srv.Port(), Auth: "basic",
		User: fx.LabUser(), Password: remote.NewSecret(fx.LabPassword()), Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()

	res, err := client.RunPowerShell(ctx, "# shift-probe: eventlog\nGet-WinEvent -LogName System | ConvertTo-Json -Depth 2\n")
	if err != nil {
		t.Fatal(err)
	}
	if msg := psjsonErrors(res.Stderr); res.ExitCode != 1 || !strings.Contains(msg, "probe 'eventlog' is not recorded") || !strings.Contains(msg, "ws2019-sql2019-sp2019") {
		t.Errorf("exit %d, error %q", res.ExitCode, msg)
	}

	h := &inventory.Host{}
	Probe(ctx, editingRunner{client, "software"}, h)
	if len(h.Errors) != 1 || h.Errors[0].Step != "software" || !strings.Contains(h.Errors[0].Message, "changed since preset ws2019-sql2019-sp2019 was recorded") ||
		h.SharePoint == nil || len(h.Services) != 0 {
		t.Errorf("errors = %+v", h.Errors)
	}
}

// editingRunner changes one probe script before it is sent.
type editingRunner struct {
	r    Runner
	name string
}

func (e editingRunner) RunPowerShell(ctx context.Context, script string) (*remote.Result, error) {
	if ProbeName(script) == e.name {
		script = strings.Replace(script, "$ErrorActionPreference = 'Stop'", "$ErrorActionPreference = 'Continue'", 1)
	}
	return e.r.RunPowerShell(ctx, script)
}
