// Package psjson decodes what Windows PowerShell 5.1's ConvertTo-Json prints
// for shift's validate probe scripts: a UTF-8 BOM in front, nothing at all
// for $null, a bare value where a pipeline produced one item, dates as
// "\/Date(ms)\/", enums and numbers that may be strings, and null anywhere.
//
// It is a small decoder for the shapes validate's own scripts produce;
// discover keeps its own, richer one.
package psjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var bom = []byte{0xEF, 0xBB, 0xBF}

// Clean strips UTF-8 byte order marks and surrounding white space.
func Clean(data []byte) []byte {
	data = bytes.TrimSpace(data)
	for bytes.HasPrefix(data, bom) {
		data = bytes.TrimSpace(data[len(bom):])
	}
	return data
}

// ErrEmpty is returned by Decode when the output holds no JSON at all.
var ErrEmpty = errors.New("no output (ConvertTo-Json prints nothing for $null)")

// Decode decodes one JSON document into v after Clean. A value of the wrong
// shape gives an error naming the field.
func Decode(data []byte, v any) error {
	data = Clean(data)
	if len(data) == 0 {
		return ErrEmpty
	}
	err := json.Unmarshal(data, v)
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("field %s: got JSON %s, want %s", te.Field, te.Value, te.Type)
	}
	return err
}

func isNull(raw []byte) bool { return len(raw) == 0 || string(raw) == "null" }

// Int is an integer printed as a number, as a string of digits, or as null
// (Valid false).
type Int struct {
	Value int64
	Valid bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (n *Int) UnmarshalJSON(raw []byte) error {
	*n = Int{}
	raw = bytes.TrimSpace(raw)
	if isNull(raw) {
		return nil
	}
	s := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		if s = strings.TrimSpace(s); s == "" {
			return nil
		}
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		*n = Int{v, true}
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) >= 1<<63 {
		return &json.UnmarshalTypeError{Value: "value " + short(s), Type: typeInt}
	}
	*n = Int{int64(f), true}
	return nil
}

// Bool is true/false, "True"/"False", 1/0, or null (Valid false).
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
		case "true", "1":
			*b = Bool{true, true}
			return nil
		case "false", "0":
			*b = Bool{false, true}
			return nil
		}
	}
	return &json.UnmarshalTypeError{Value: "value " + short(string(raw)), Type: typeBool}
}

// String is text; numbers and booleans keep their JSON text, null is empty.
// An object or a list is an error (a script forgot to select a property).
type String string

// UnmarshalJSON implements json.Unmarshaler.
func (s *String) UnmarshalJSON(raw []byte) error {
	*s = ""
	raw = bytes.TrimSpace(raw)
	switch {
	case isNull(raw):
		return nil
	case raw[0] == '"':
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		*s = String(v)
		return nil
	case raw[0] == '{' || raw[0] == '[':
		return &json.UnmarshalTypeError{Value: "value " + short(string(raw)), Type: typeString}
	}
	*s = String(raw)
	return nil
}

// msDate is JavaScriptSerializer's date, after JSON unescaping of \/.
var msDate = regexp.MustCompile(`^/Date\((-?\d+)([+-]\d{4})?\)/$`)

// Time is a DateTime as 5.1 prints it: "\/Date(ms)\/", or the
// {"value": "\/Date(ms)\/", "DisplayHint": 2, "DateTime": "..."} wrapper a
// Get-Date value gets; null is the zero time.
type Time struct{ time.Time }

// UnmarshalJSON implements json.Unmarshaler.
func (t *Time) UnmarshalJSON(raw []byte) error {
	*t = Time{}
	raw = bytes.TrimSpace(raw)
	if isNull(raw) {
		return nil
	}
	if raw[0] == '{' {
		var w struct {
			Value json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(raw, &w); err != nil || w.Value == nil {
			return &json.UnmarshalTypeError{Value: "object " + short(string(raw)), Type: typeTime}
		}
		return t.UnmarshalJSON(w.Value)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return &json.UnmarshalTypeError{Value: "value " + short(string(raw)), Type: typeTime}
	}
	m := msDate.FindStringSubmatch(s)
	if m == nil {
		return &json.UnmarshalTypeError{Value: "string " + short(s), Type: typeTime}
	}
	ms, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return &json.UnmarshalTypeError{Value: "string " + short(s), Type: typeTime}
	}
	t.Time = time.UnixMilli(ms).UTC()
	return nil
}

// List is a list that 5.1 may print as an array, as one bare value (a
// pipeline that produced one item), or as null (none).
type List[T any] []T

// UnmarshalJSON implements json.Unmarshaler.
func (l *List[T]) UnmarshalJSON(raw []byte) error {
	*l = nil
	raw = bytes.TrimSpace(raw)
	if isNull(raw) {
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
	var one T
	if err := json.Unmarshal(raw, &one); err != nil {
		return err
	}
	*l = List[T]{one}
	return nil
}

func short(s string) string {
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}

// The types named in errors.
var (
	typeInt    = reflect.TypeFor[int64]()
	typeBool   = reflect.TypeFor[bool]()
	typeString = reflect.TypeFor[string]()
	typeTime   = reflect.TypeFor[time.Time]()
)
