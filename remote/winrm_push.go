package remote

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/shift-migrate/shift/inventory"
)

// PushChunkSize is how many bytes of a file one push script carries: its
// base64 (about 1.4 MB) travels as the script's stdin, which the WinRM
// client splits into Send envelopes under the host's MaxEnvelopeSizekb.
const PushChunkSize = 1 << 20

// ParamsEnd is the line that ends the parameter block of a parameterised
// script (see ParamScript). Everything after it is fixed code.
const ParamsEnd = "# shift-parameters-end"

// ScriptParam is one parameter of a parameterised script: a string becomes
// a single-quoted PowerShell literal, an int64 or int a number.
type ScriptParam struct {
	Name  string
	Value any
}

// ParamScript builds a script of the form shift uses for the scripts whose
// input changes on every run (push, VSS, agent start): the
// "# shift-probe: <probe>" header, one "$Name = value" line per parameter,
// the ParamsEnd line, then body. A simulated host recognises the script by
// its header and by the hash of the header and body, and reads the
// parameters.
func ParamScript(probe string, params []ScriptParam, body string) string {
	var b strings.Builder
	b.WriteString("# shift-probe: " + probe + "\n")
	for _, p := range params {
		b.WriteString("$" + p.Name + " = ")
		switch v := p.Value.(type) {
		case string:
			b.WriteString(PSQuote(v))
		case int:
			b.WriteString(strconv.Itoa(v))
		case int64:
			b.WriteString(strconv.FormatInt(v, 10))
		default:
			panic(fmt.Sprintf("ParamScript: parameter %s has unsupported type %T", p.Name, v))
		}
		b.WriteByte('\n')
	}
	b.WriteString(ParamsEnd + "\n")
	b.WriteString(body)
	return b.String()
}

// PSQuote quotes s as a PowerShell single-quoted string literal.
func PSQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// PushScriptBody is the fixed code of the push script. $Op is one of:
//
//   - status: print {"Final": sha256 of $Path or "", "Part": length of $Part};
//   - append: check the chunk against $ChunkSha256 and that $Part holds
//     exactly $Offset bytes, then append the chunk;
//   - commit: check $Part against $Sha256, then move it onto $Path (a part
//     that does not match is removed);
//   - reset: remove $Part.
const PushScriptBody = `function Get-Sha256([string]$p) {
  if (-not (Test-Path -LiteralPath $p -PathType Leaf)) { return '' }
  (Get-FileHash -LiteralPath $p -Algorithm SHA256).Hash.ToLowerInvariant()
}
switch ($Op) {
  'status' {
    $len = 0
    if (Test-Path -LiteralPath $Part -PathType Leaf) { $len = (Get-Item -LiteralPath $Part).Length }
    [pscustomobject]@{ Final = (Get-Sha256 $Path); Part = $len } | ConvertTo-Json -Compress
  }
  'append' {
    $dir = Split-Path -Parent $Part
    if (-not (Test-Path -LiteralPath $dir)) { New-Item -ItemType Directory -Path $dir -Force | Out-Null }
    $bytes = [Convert]::FromBase64String($Data)
    $sha = [Security.Cryptography.SHA256]::Create()
    $h = [BitConverter]::ToString($sha.ComputeHash($bytes)).Replace('-', '').ToLowerInvariant()
    if ($h -ne $ChunkSha256) { throw "push ${Path}: the chunk at offset $Offset arrived damaged (sha256 $h)" }
    $fs = [IO.File]::Open($Part, 'OpenOrCreate', 'Write', 'None')
    try {
      if ($fs.Length -ne $Offset) { throw "push ${Path}: $Part holds $($fs.Length) bytes, the chunk starts at $Offset" }
      [void]$fs.Seek(0, 'End')
      $fs.Write($bytes, 0, $bytes.Length)
    } finally { $fs.Dispose() }
  }
  'commit' {
    $h = Get-Sha256 $Part
    if ($h -ne $Sha256) {
      Remove-Item -LiteralPath $Part -Force -ErrorAction SilentlyContinue
      throw "push ${Path}: the pushed file has sha256 $h, want $Sha256; it was removed"
    }
    Move-Item -LiteralPath $Part -Destination $Path -Force
  }
  'reset' { Remove-Item -LiteralPath $Part -Force -ErrorAction SilentlyContinue }
  default { throw "push: unknown operation $Op" }
}
`

// PushScript returns the push script for one operation (see
// PushScriptBody). data is the chunk of an append, nil otherwise.
func PushScript(op, remotePath string, offset int64, sum string, data []byte) string {
	chunkSum := ""
	enc := ""
	if data != nil {
		h := sha256.Sum256(data)
		chunkSum = hex.EncodeToString(h[:])
		enc = base64.StdEncoding.EncodeToString(data)
	}
	return ParamScript("push", []ScriptParam{
		{"Op", op},
		{"Path", remotePath},
		{"Part", PushPartPath(remotePath, sum)},
		{"Offset", offset},
		{"Sha256", sum},
		{"ChunkSha256", chunkSum},
		{"Data", enc},
	}, PushScriptBody)
}

// PushPartPath is where a push of content sum to remotePath collects its
// bytes before the final check: next to the target, named after the content,
// so that a push of other content never resumes it.
func PushPartPath(remotePath, sum string) string {
	return remotePath + ".shift-" + sum[:16] + ".part"
}

// Push copies r to remotePath on the host (a full Windows path whose
// directory is created when missing) through PowerShell scripts of at most
// PushChunkSize bytes each: WinRM cannot carry a file in one envelope. The
// bytes collect in a part file next to remotePath; the last step checks the
// whole file's SHA-256 and moves it into place. Push is idempotent and
// resumable: a file already there with the same content costs one round
// trip, and a push that was interrupted (a lost connection, a canceled ctx)
// continues from the bytes the part file holds. A part file that turns out
// damaged is removed and the push starts over once.
//
// r is read twice when it is an io.ReadSeeker (once to hash it); any other
// reader is spooled into a local temporary file first.
func (c *WinRMClient) Push(ctx context.Context, r io.Reader, remotePath string) error {
	fail := func(err error) error {
		var re *Error
		if errors.As(err, &re) {
			return fmt.Errorf("push %s: %w", remotePath, err)
		}
		return &Error{Host: c.cfg.Host, Step: "winrm push " + remotePath, Kind: inventory.ErrProbe, Err: err}
	}
	if !strings.Contains(remotePath, `\`) {
		return fail(fmt.Errorf("the remote path %q is not a Windows path", remotePath))
	}
	rs, size, sum, cleanup, err := seekable(r)
	if err != nil {
		return fail(err)
	}
	defer cleanup()
	for attempt := 0; ; attempt++ {
		var st struct {
			Final string
			Part  int64
		}
		if err := c.pushRun(ctx, PushScript("status", remotePath, 0, sum, nil), "status", &st); err != nil {
			return fail(err)
		}
		if st.Final == sum {
			return nil
		}
		off := st.Part
		if off > size {
			if err := c.pushRun(ctx, PushScript("reset", remotePath, 0, sum, nil), "reset", nil); err != nil {
				return fail(err)
			}
			off = 0
		}
		if _, err := rs.Seek(off, io.SeekStart); err != nil {
			return fail(err)
		}
		buf := make([]byte, PushChunkSize)
		for off < size {
			n, err := io.ReadFull(rs, buf[:min(int64(len(buf)), size-off)])
			if err != nil {
				return fail(fmt.Errorf("read the local file at offset %d: %w", off, err))
			}
			if err := c.pushRun(ctx, PushScript("append", remotePath, off, sum, buf[:n]), "append", nil); err != nil {
				return fail(err)
			}
			off += int64(n)
		}
		err := c.pushRun(ctx, PushScript("commit", remotePath, 0, sum, nil), "commit", nil)
		if err == nil {
			return nil
		}
		if attempt == 1 {
			return fail(err)
		}
	}
}

// pushRun runs one push script and decodes its JSON output into v (nil: no
// output expected).
func (c *WinRMClient) pushRun(ctx context.Context, script, op string, v any) error {
	res, err := c.RunPowerShell(ctx, script)
	if err != nil {
		return err
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("push %s: exit status %d: %s", op, res.ExitCode, PSErrorText(res.Stderr))
	}
	if v == nil {
		return nil
	}
	out := strings.TrimPrefix(strings.TrimSpace(string(res.Stdout)), "\ufeff")
	if err := json.Unmarshal([]byte(out), v); err != nil {
		return fmt.Errorf("push %s: unexpected output %q: %w", op, out, err)
	}
	return nil
}

// seekable returns r as a ReadSeeker with its size and hex SHA-256,
// spooling it into a temporary file when it cannot seek.
func seekable(r io.Reader) (rs io.ReadSeeker, size int64, sum string, cleanup func(), err error) {
	cleanup = func() {}
	rs, ok := r.(io.ReadSeeker)
	if !ok {
		f, err := os.CreateTemp("", "shift-push-*")
		if err != nil {
			return nil, 0, "", cleanup, err
		}
		cleanup = func() { f.Close(); os.Remove(f.Name()) }
		if _, err := io.Copy(f, r); err != nil {
			cleanup()
			return nil, 0, "", func() {}, fmt.Errorf("spool the file to push: %w", err)
		}
		rs = f
	}
	if _, err := rs.Seek(0, io.SeekStart); err != nil {
		cleanup()
		return nil, 0, "", func() {}, err
	}
	h := sha256.New()
	size, err = io.Copy(h, rs)
	if err != nil {
		cleanup()
		return nil, 0, "", func() {}, fmt.Errorf("hash the file to push: %w", err)
	}
	return rs, size, hex.EncodeToString(h.Sum(nil)), cleanup, nil
}

var (
	clixmlError = regexp.MustCompile(`(?s)<S S="Error">(.*?)</S>`)
	clixmlCRLF  = strings.NewReplacer("_x000D_", "", "_x000A_", "\n", "_x005F_", "_")
)

// PSErrorText returns the first line of the error powershell.exe wrote on
// stderr, CLIXML or plain text; "no error output" when there is none.
func PSErrorText(stderr []byte) string {
	s := strings.TrimPrefix(string(stderr), "\ufeff")
	if strings.HasPrefix(s, "#< CLIXML") {
		var b strings.Builder
		for _, m := range clixmlError.FindAllStringSubmatch(s, -1) {
			b.WriteString(clixmlCRLF.Replace(html.UnescapeString(m[1])))
		}
		s = b.String()
	}
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	if s == "" {
		return "no error output"
	}
	return s
}

// Address returns the host name or IP the client dials.
func (c *WinRMClient) Address() string { return c.cfg.Address }

// P returns a ScriptParam.
func P(name string, value any) ScriptParam { return ScriptParam{Name: name, Value: value} }
