package ssh

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// Tools change the JSON type of a field between versions (lsblk up to 2.32
// prints every value as a string, 2.33 types numbers but keeps fs sizes as
// strings, 2.38 types those too). These types accept any of the forms.

// jstr is a string that also accepts numbers, booleans and null ("").
type jstr string

func (s *jstr) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*s = ""
	case len(b) > 0 && b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = jstr(v)
	case len(b) > 0 && (b[0] == '[' || b[0] == '{'):
		return errors.New("want a scalar, got an array or object")
	default:
		*s = jstr(b)
	}
	return nil
}

// trim returns the value without the space padding sysfs strings carry.
func (s jstr) trim() string { return strings.TrimSpace(string(s)) }

// juint is an unsigned number that also accepts a decimal string; Valid is
// false for null, "" and "-".
type juint struct {
	V     uint64
	Valid bool
}

func (n *juint) UnmarshalJSON(b []byte) error {
	var s jstr
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	t := s.trim()
	if t == "" || t == "-" {
		*n = juint{}
		return nil
	}
	v, err := strconv.ParseUint(t, 10, 64)
	if err != nil {
		// A float or a negative value: not a size we can use.
		*n = juint{}
		return nil
	}
	*n = juint{V: v, Valid: true}
	return nil
}

// jbool is a boolean that also accepts "0"/"1" strings and 0/1 numbers.
type jbool struct {
	V     bool
	Valid bool
}

func (v *jbool) UnmarshalJSON(b []byte) error {
	var s jstr
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	switch strings.ToLower(s.trim()) {
	case "true", "1":
		*v = jbool{V: true, Valid: true}
	case "false", "0":
		*v = jbool{V: false, Valid: true}
	default:
		*v = jbool{}
	}
	return nil
}

// ptr returns a tri-state pointer: nil when the value was absent.
func (v jbool) ptr() *bool {
	if !v.Valid {
		return nil
	}
	b := v.V
	return &b
}
