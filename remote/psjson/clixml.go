package psjson

import (
	"bytes"
	"html"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Stderr is what powershell.exe wrote on stderr, decoded.
type Stderr struct {
	// Errors are the error lines (CLIXML <S S="Error"> records, or the plain
	// text when stderr was not CLIXML), joined into readable text.
	Errors string
	// Warnings are the warning records.
	Warnings string
	// Progress counts the progress records, which carry no failure.
	Progress int
	// CLIXML is true when stderr was a CLIXML stream.
	CLIXML bool
}

var (
	clixmlHeader = []byte("#< CLIXML")
	stream       = regexp.MustCompile(`(?s)<S S="([A-Za-z]+)">(.*?)</S>`)
	progressObj  = regexp.MustCompile(`<Obj S="progress"`)
	xEscape      = regexp.MustCompile(`_x([0-9A-Fa-f]{4})_`)
)

// DecodeStderr decodes powershell.exe's stderr: a CLIXML stream ("#< CLIXML"
// then <Objs>), with or without a UTF-8 BOM, or plain text. Bytes that are
// not UTF-8 (a console code page) are replaced, never fatal.
func DecodeStderr(b []byte) Stderr {
	b = Clean(b)
	if !bytes.HasPrefix(b, clixmlHeader) {
		return Stderr{Errors: tidy(strings.ToValidUTF8(string(b), "\uFFFD"))}
	}
	s := strings.ToValidUTF8(string(b[len(clixmlHeader):]), "\uFFFD")
	var errs, warns strings.Builder
	for _, m := range stream.FindAllStringSubmatch(s, -1) {
		text := unescapeCLIXML(m[2])
		switch strings.ToLower(m[1]) {
		case "error":
			errs.WriteString(text)
		case "warning":
			warns.WriteString(text)
			if !strings.HasSuffix(text, "\n") {
				warns.WriteString("\n")
			}
		}
	}
	return Stderr{
		Errors:   tidy(errs.String()),
		Warnings: tidy(warns.String()),
		Progress: len(progressObj.FindAllStringIndex(s, -1)),
		CLIXML:   true,
	}
}

// unescapeCLIXML resolves XML entities and the _xHHHH_ escapes PowerShell
// uses for control characters (_x000D__x000A_ is CR LF), including UTF-16
// surrogate pairs.
func unescapeCLIXML(s string) string {
	s = html.UnescapeString(s)
	if !strings.Contains(s, "_x") {
		return s
	}
	var units []uint16
	var out strings.Builder
	flush := func() {
		if len(units) > 0 {
			out.WriteString(string(utf16.Decode(units)))
			units = units[:0]
		}
	}
	last := 0
	for _, loc := range xEscape.FindAllStringSubmatchIndex(s, -1) {
		if loc[0] != last {
			flush()
			out.WriteString(s[last:loc[0]])
		}
		v, _ := strconv.ParseUint(s[loc[2]:loc[3]], 16, 16)
		units = append(units, uint16(v))
		last = loc[1]
	}
	flush()
	out.WriteString(s[last:])
	return strings.ToValidUTF8(out.String(), "\uFFFD")
}

// tidy normalises line ends and drops blank lines and trailing space.
func tidy(s string) string {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimRight(l, " \t\r")
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

// FirstLine returns the first line of s, shortened to max runes.
func FirstLine(s string, max int) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > max {
		r := []rune(s)
		s = string(r[:max]) + "…"
	}
	return s
}
