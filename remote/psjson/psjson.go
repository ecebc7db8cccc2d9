// Package psjson decodes the JSON that Windows PowerShell 5.1's ConvertTo-Json
// prints, as it really is: a UTF-8 BOM in front, nothing at all for zero
// results, a bare object where one result was expected in a list, dates as
// "\/Date(ms)\/" strings, DMTF strings or Get-Date wrapper objects, enums as
// numbers (or strings when a type extension converts them), numbers that are
// sometimes strings, and values that a too small -Depth turned into type names.
//
// Structs decoded by this package use its field types ([Int], [Uint], [Bool],
// [Time], [Enum], [Char], [Strings], [List]); a value of the wrong shape gives an
// error that names the field instead of a silent zero.
package psjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
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

// ErrEmpty is returned by [Decode] when the output holds no JSON at all.
var ErrEmpty = errors.New("no output (ConvertTo-Json prints nothing for $null)")

// Decode decodes one JSON document into v, after [Clean]. Empty output is
// [ErrEmpty]; errors name the field that did not fit.
func Decode(data []byte, v any) error {
	data = Clean(data)
	if len(data) == 0 {
		return ErrEmpty
	}
	return explain(json.Unmarshal(data, v))
}

// DecodeList decodes output that holds zero, one or many items: empty output
// or null is no item, a bare object is one item, an array is the items, and
// the {"value": [...], "Count": n} wrapper 5.1 gives arrays with type data is
// unwrapped.
func DecodeList[T any](data []byte) ([]T, error) {
	data = Clean(data)
	if len(data) == 0 {
		return nil, nil
	}
	var l List[T]
	if err := json.Unmarshal(data, &l); err != nil {
		return nil, explain(err)
	}
	return l, nil
}

// explain turns encoding/json's errors into messages about PowerShell output.
func explain(err error) error {
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if te.Struct != "" && field == "" {
			field = te.Struct
		}
		if field == "" {
			field = "(top level)"
		}
		msg := fmt.Sprintf("field %s: got %s, want %s", field, te.Value, describe(te.Type))
		if want := describe(te.Type); strings.HasPrefix(te.Value, "string") && (want == "a list" || want == "an object") {
			msg += ": the value was flattened to text, as ConvertTo-Json does beyond its -Depth (raise -Depth in the probe script)"
		}
		return &Error{Field: field, Msg: msg, Err: err}
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &Error{Msg: fmt.Sprintf("invalid JSON at byte %d: %v", se.Offset, se), Err: err}
	}
	return &Error{Msg: err.Error(), Err: err}
}

// Error is a decoding failure. Field is the dotted path of the field that did
// not fit; empty when the document itself is broken.
type Error struct {
	Field string
	Msg   string
	Err   error
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

func isListType(t reflect.Type) bool {
	return strings.HasPrefix(t.Name(), "List[") || t.Name() == "Strings"
}

func describe(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	switch {
	case isListType(t):
		return "a list"
	case t == reflect.TypeFor[Time]():
		return "a date"
	}
	switch t.Kind() {
	case reflect.Struct:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map:
		return "an object"
	}
	return t.String()
}

// typeError builds the error a field type returns for a value it cannot take;
// encoding/json adds the field path to it.
func typeError(raw []byte, want reflect.Type) error {
	return &json.UnmarshalTypeError{Value: quoteValue(raw), Type: want}
}

// quoteValue describes a raw JSON value for an error message, shortened.
func quoteValue(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	kind := "value"
	switch {
	case len(raw) == 0:
		return "nothing"
	case raw[0] == '"':
		kind = "string"
	case raw[0] == '{':
		kind = "object"
	case raw[0] == '[':
		kind = "array"
	case raw[0] == 't' || raw[0] == 'f':
		kind = "bool"
	case raw[0] == 'n':
		return "null"
	default:
		kind = "number"
	}
	s := string(raw)
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return kind + " " + s
}
