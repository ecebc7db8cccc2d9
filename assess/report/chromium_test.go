package report_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shift-migrate/shift/assess/report"
)

// chromium returns the path of a Chromium binary, or fails under CI=true and
// skips otherwise.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("SHIFT_CHROMIUM"), "/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("CI=true and Chromium is missing: run make deps (Debian package chromium)")
	}
	t.Skip("Chromium not installed (Debian package chromium; make deps installs it)")
	return ""
}

var consoleRE = regexp.MustCompile(`(?m)^.*:CONSOLE[:(].*$`)

// render loads page from a loopback HTTP server in headless Chromium and
// returns the DOM after load and the console messages Chromium logged.
func render(t *testing.T, page []byte) (dom string, console []string) {
	t.Helper()
	bin := chromium(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/report.html" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
		"--user-data-dir="+t.TempDir(), "--enable-logging=stderr", "--v=0", "--dump-dom", srv.URL+"/report.html")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	return stdout.String(), consoleRE.FindAllString(stderr.String(), -1)
}

// TestHTMLInChromium renders the lab report in headless Chromium: the page
// loads without a console message (a blocked external resource, a CSP
// violation or a script error would log one) and its SVG charts are in the DOM.
func TestHTMLInChromium(t *testing.T) {
	var page bytes.Buffer
	if err := report.Write(&page, report.HTML, labResult(t)); err != nil {
		t.Fatal(err)
	}
	dom, console := render(t, page.Bytes())
	if len(console) > 0 {
		t.Errorf("console messages while loading the report:\n%s", strings.Join(console, "\n"))
	}
	for _, id := range []string{"chart-readiness", "chart-cost", "chart-wave-cost"} {
		re := regexp.MustCompile(`<svg class="chart" id="` + id + `"[^>]*>[\s\S]*?<rect[\s\S]*?</svg>`)
		if !re.MatchString(dom) {
			t.Errorf("chart %s with bars missing from the rendered DOM", id)
		}
	}
	for _, want := range []string{`id="host-ws2022-bitlocker"`, "manage-bde -off C:", `id="sql-server"`, `id="sharepoint"`, "Not assessed:"} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered DOM lacks %q", want)
		}
	}
}

// TestChromiumCatchesErrors is the negative control of the check above: a
// page that loads an external image under the report's CSP logs a console
// message that render returns.
func TestChromiumCatchesErrors(t *testing.T) {
	page := []byte(`<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="default-src 'none'"></head>` +
		`<body><img src="http://192.0.2.1/x.png"></body></html>`)
	_, console := render(t, page)
	if len(console) == 0 {
		t.Fatal("a CSP violation produced no console message: the report check would miss errors")
	}
}
