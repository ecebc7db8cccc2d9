package report

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/shift-migrate/shift/assess"
)

// Format is a report format.
type Format string

// Formats, named after their file extensions.
const (
	HTML     Format = "html"
	Markdown Format = "md"
	JSON     Format = "json"
	CSV      Format = "csv"
	XLSX     Format = "xlsx"
)

// Formats lists every format.
var Formats = []Format{HTML, Markdown, JSON, CSV, XLSX}

// FormatOf returns the format a file name asks for by its extension.
func FormatOf(path string) (Format, error) {
	ext := strings.ToLower(strings.TrimPrefix(filepath.Ext(path), "."))
	switch ext {
	case "html", "htm":
		return HTML, nil
	case "md", "markdown":
		return Markdown, nil
	case "json":
		return JSON, nil
	case "csv":
		return CSV, nil
	case "xlsx":
		return XLSX, nil
	}
	return "", fmt.Errorf("report %s: unknown format %q: name the file .html, .md, .json, .csv or .xlsx", path, ext)
}

// Write renders res in format f to w.
func Write(w io.Writer, f Format, res *assess.Result) error {
	var buf bytes.Buffer
	var err error
	switch f {
	case HTML:
		err = writeHTML(&buf, res)
	case Markdown:
		err = writeMarkdown(&buf, res)
	case JSON:
		err = writeJSON(&buf, res)
	case CSV:
		err = writeCSV(&buf, res)
	case XLSX:
		// Cells are redacted one by one: the zip stream cannot be.
		err = writeXLSX(w, res)
		if err != nil {
			return fmt.Errorf("report: xlsx: %w", err)
		}
		return nil
	default:
		return fmt.Errorf("report: unknown format %q", f)
	}
	if err != nil {
		return fmt.Errorf("report: %s: %w", f, err)
	}
	_, err = w.Write(assess.Redact(buf.Bytes()))
	return err
}

// WriteFile renders res into path, in the format its extension names. The
// file is replaced atomically: a failed run leaves the old report in place.
func WriteFile(path string, res *assess.Result) error {
	f, err := FormatOf(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".report-*")
	if err != nil {
		return fmt.Errorf("report %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := Write(tmp, f, res); err != nil {
		tmp.Close()
		return fmt.Errorf("report %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("report %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("report %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("report %s: %w", path, err)
	}
	return nil
}

// money formats an amount with thousands separators: "USD 1,234.56".
func money(currency string, v float64) string {
	s := fmt.Sprintf("%.2f", v)
	whole, frac, _ := strings.Cut(s, ".")
	neg := strings.HasPrefix(whole, "-")
	whole = strings.TrimPrefix(whole, "-")
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	out := b.String() + "." + frac
	if neg {
		out = "-" + out
	}
	if currency != "" {
		out = currency + " " + out
	}
	return out
}

func stars(c assess.Confidence) string {
	if c.Rating == 0 {
		return "none (as is)"
	}
	return strings.Repeat("★", c.Rating) + strings.Repeat("☆", 5-c.Rating) + " " + c.Label()
}

func ruleIDs(fs []assess.Finding) string {
	var ids []string
	seen := map[string]bool{}
	for _, f := range fs {
		if !seen[f.Rule] {
			ids = append(ids, f.Rule)
			seen[f.Rule] = true
		}
	}
	return strings.Join(ids, " ")
}

func sizeLabel(h *assess.HostResult) string {
	switch {
	case h.Sizing == nil:
		return "-"
	case h.Sizing.VMSize == "":
		return "no size fits"
	}
	return h.Sizing.VMSize
}

func verdictNote(f assess.Finding) string {
	if f.Unchecked {
		return "could not be checked"
	}
	return f.Verdict.Label()
}
