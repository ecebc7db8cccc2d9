package psjson

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

var null = []byte("null")

func isNull(raw []byte) bool { return bytes.Equal(bytes.TrimSpace(raw), null) }

// number reads a JSON number or a string holding one.
func number(raw []byte) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", false
		}
		return strings.TrimSpace(s), true
	}
	if len(raw) == 0 || !(raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
		return "", false
	}
	return string(raw), true
}

// decodeNumber reads a number printed as a number or a string; null and ""
// are absent (valid false).
func decodeNumber[T any](raw []byte, want reflect.Type, parse func(string) (T, bool)) (v T, valid bool, err error) {
	if isNull(raw) {
		return v, false, nil
	}
	s, ok := number(raw)
	if ok && s == "" {
		return v, false, nil
	}
	if ok {
		if v, ok := parse(s); ok {
			return v, true, nil
		}
	}
	return v, false, typeError(raw, want)
}

// Int is an integer that PowerShell may print as a number, as a string of
// digits, or as null (zero, with Valid false).
type Int struct {
	Value int64
	Valid bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (n *Int) UnmarshalJSON(raw []byte) (err error) {
	n.Value, n.Valid, err = decodeNumber(raw, reflect.TypeFor[int64](), func(s string) (int64, bool) {
		if v, err := strconv.ParseInt(s, 10, 64); err == nil {
			return v, true
		}
		f, err := strconv.ParseFloat(s, 64)
		return int64(f), err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<63
	})
	return err
}

// Int returns the value as an int.
func (n Int) Int() int { return int(n.Value) }

// Uint is an unsigned integer (sizes in bytes), as a number, a string of
// digits, or null.
type Uint struct {
	Value uint64
	Valid bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (n *Uint) UnmarshalJSON(raw []byte) (err error) {
	n.Value, n.Valid, err = decodeNumber(raw, reflect.TypeFor[uint64](), func(s string) (uint64, bool) {
		if v, err := strconv.ParseUint(s, 10, 64); err == nil {
			return v, true
		}
		f, err := strconv.ParseFloat(s, 64)
		return uint64(f), err == nil && f >= 0 && f == math.Trunc(f) && f < 1<<64
	})
	return err
}

// Float is a number, possibly printed as a string.
type Float struct {
	Value float64
	Valid bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (n *Float) UnmarshalJSON(raw []byte) (err error) {
	n.Value, n.Valid, err = decodeNumber(raw, reflect.TypeFor[float64](), func(s string) (float64, bool) {
		f, err := strconv.ParseFloat(s, 64)
		return f, err == nil
	})
	return err
}

// Bool is a tri-state boolean: true/false, "True"/"False", 1/0, or null
// (Valid false).
type Bool struct {
	Value bool
	Valid bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (b *Bool) UnmarshalJSON(raw []byte) error {
	*b = Bool{}
	raw = bytes.TrimSpace(raw)
	if isNull(raw) {
		return nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case bool:
		*b = Bool{v, true}
		return nil
	case float64:
		if v == 0 || v == 1 {
			*b = Bool{v == 1, true}
			return nil
		}
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true", "1", "yes", "on":
			*b = Bool{true, true}
			return nil
		case "false", "0", "no", "off":
			*b = Bool{false, true}
			return nil
		case "":
			return nil
		}
	}
	return typeError(raw, reflect.TypeFor[bool]())
}

// Ptr returns the value as the inventory's tri-state *bool: nil when unknown.
func (b Bool) Ptr() *bool {
	if !b.Valid {
		return nil
	}
	v := b.Value
	return &v
}

// True reports whether the value is known and true.
func (b Bool) True() bool { return b.Valid && b.Value }

// String is text. Numbers and booleans are kept as their JSON text; null is
// empty; an object or a list is an error (a script forgot a .ToString()).
type String string

// UnmarshalJSON implements json.Unmarshaler.
func (s *String) UnmarshalJSON(raw []byte) error {
	*s = ""
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0, isNull(raw):
		return nil
	case raw[0] == '"':
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		*s = String(v)
		return nil
	case raw[0] == '{' || raw[0] == '[':
		return typeError(raw, reflect.TypeFor[string]())
	}
	*s = String(raw)
	return nil
}

// Enum is a .NET enum as 5.1 prints it: usually its number, sometimes (type
// extensions such as Storage's PartitionStyle) its name.
type Enum struct {
	Num   int64
	Name  string
	Valid bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (e *Enum) UnmarshalJSON(raw []byte) error {
	*e = Enum{}
	raw = bytes.TrimSpace(raw)
	if isNull(raw) {
		return nil
	}
	if len(raw) > 0 && raw[0] == '"' {
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		v = strings.TrimSpace(v)
		if v == "" {
			return nil
		}
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			*e = Enum{Num: n, Valid: true}
			return nil
		}
		*e = Enum{Name: v, Valid: true}
		return nil
	}
	var n Int
	if err := n.UnmarshalJSON(raw); err != nil {
		return typeError(raw, reflect.TypeFor[Enum]())
	}
	*e = Enum{Num: n.Value, Valid: n.Valid}
	return nil
}

// Text returns the enum's name: the printed name when there was one, else
// names[number], else the number itself; empty when null.
func (e Enum) Text(names map[int64]string) string {
	switch {
	case !e.Valid:
		return ""
	case e.Name != "":
		return e.Name
	}
	if n, ok := names[e.Num]; ok {
		return n
	}
	return strconv.FormatInt(e.Num, 10)
}

// Char is a [char] such as a drive letter: "C", or "\u0000" / "" / null for
// none. A number is read as the character code.
type Char string

// UnmarshalJSON implements json.Unmarshaler.
func (c *Char) UnmarshalJSON(raw []byte) error {
	*c = ""
	raw = bytes.TrimSpace(raw)
	if isNull(raw) {
		return nil
	}
	if len(raw) > 0 && raw[0] == '"' {
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		v = strings.TrimRight(strings.TrimSpace(strings.Trim(v, "\x00")), ":\\")
		if utf8.RuneCountInString(v) > 1 {
			return typeError(raw, reflect.TypeFor[Char]())
		}
		*c = Char(strings.ToUpper(v))
		return nil
	}
	var n Int
	if err := n.UnmarshalJSON(raw); err != nil || n.Value < 0 || n.Value > utf8.MaxRune {
		return typeError(raw, reflect.TypeFor[Char]())
	}
	if n.Value != 0 {
		*c = Char(strings.ToUpper(string(rune(n.Value))))
	}
	return nil
}

// Strings is a list of strings inside an object. null is empty, null items
// are dropped, numbers become their text. A bare string is an error: inside
// an object 5.1 keeps arrays as arrays unless -Depth flattened them into one
// space-joined string.
type Strings []string

// UnmarshalJSON implements json.Unmarshaler.
func (s *Strings) UnmarshalJSON(raw []byte) error {
	*s = nil
	raw = bytes.TrimSpace(raw)
	if isNull(raw) {
		return nil
	}
	if len(raw) == 0 || raw[0] != '[' {
		return typeError(raw, reflect.TypeFor[Strings]())
	}
	var items []String
	if err := json.Unmarshal(raw, &items); err != nil {
		return err
	}
	out := make(Strings, 0, len(items))
	for _, it := range items {
		if it != "" {
			out = append(out, string(it))
		}
	}
	*s = out
	return nil
}

// List is a list that 5.1 may print as an array, a single bare object (one
// item), null (no item), or {"value": [...], "Count": n}.
type List[T any] []T

// UnmarshalJSON implements json.Unmarshaler.
func (l *List[T]) UnmarshalJSON(raw []byte) error {
	*l = nil
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || isNull(raw) {
		return nil
	}
	if raw[0] == '[' {
		var items []T
		if err := json.Unmarshal(raw, &items); err != nil {
			return err
		}
		*l = items
		return nil
	}
	if raw[0] == '{' {
		var w map[string]json.RawMessage
		if json.Unmarshal(raw, &w) == nil && len(w) == 2 && w["Count"] != nil {
			if v := bytes.TrimSpace(w["value"]); len(v) > 0 && v[0] == '[' {
				return l.UnmarshalJSON(v)
			}
		}
	}
	var one T
	if err := json.Unmarshal(raw, &one); err != nil {
		return err
	}
	*l = List[T]{one}
	return nil
}

// Time is a date as 5.1 prints it: "\/Date(ms)\/" (optionally with a +hhmm
// suffix), a Get-Date {value, DisplayHint, DateTime} object, a WMI DMTF string
// (20231015123456.000000+060), or ISO 8601. null or "" is the zero time.
// Decoded times are in UTC.
type Time struct {
	time.Time
}

var (
	msDate = regexp.MustCompile(`^/Date\((-?\d{1,16})([+-]\d{4})?\)/$`)
	dmtf   = regexp.MustCompile(`^(\d{14})\.(\d{6})([+-])(\d{3})$`)
)

// UnmarshalJSON implements json.Unmarshaler.
func (t *Time) UnmarshalJSON(raw []byte) error {
	t.Time = time.Time{}
	raw = bytes.TrimSpace(raw)
	if isNull(raw) {
		return nil
	}
	if len(raw) > 0 && raw[0] == '{' {
		var w struct {
			Value    json.RawMessage `json:"value"`
			DateTime string          `json:"DateTime"`
		}
		if json.Unmarshal(raw, &w) != nil || w.Value == nil || (len(bytes.TrimSpace(w.Value)) > 0 && w.Value[0] == '{') {
			return typeError(raw, reflect.TypeFor[Time]())
		}
		return t.UnmarshalJSON(w.Value)
	}
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return typeError(raw, reflect.TypeFor[Time]())
	}
	v, ok := ParseTime(s)
	if !ok {
		return typeError(raw, reflect.TypeFor[Time]())
	}
	t.Time = v
	return nil
}

// ParseTime reads one of the date strings [Time] accepts; "" is the zero time.
func ParseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, true
	}
	if m := msDate.FindStringSubmatch(s); m != nil {
		ms, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			return time.Time{}, false
		}
		return time.UnixMilli(ms).UTC(), true
	}
	if m := dmtf.FindStringSubmatch(s); m != nil {
		local, err := time.Parse("20060102150405", m[1])
		if err != nil {
			return time.Time{}, false
		}
		us, _ := strconv.Atoi(m[2])
		off, _ := strconv.Atoi(m[4])
		if m[3] == "-" {
			off = -off
		}
		return local.Add(time.Duration(us)*time.Microsecond - time.Duration(off)*time.Minute).UTC(), true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02T15:04:05"} {
		if v, err := time.Parse(layout, s); err == nil {
			return v.UTC(), true
		}
	}
	return time.Time{}, false
}
