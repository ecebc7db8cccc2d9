package plan

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// scalar is a value type written as one YAML scalar. parse checks and reads
// the text; its error says what is wrong and how to write it instead.
type scalar interface {
	parse(s string) error
}

// Bandwidth is a rate in bytes per second; 0 means no limit.
//
// It is written as a number with an optional unit: "50M", "50MB/s" and
// "50MiB/s" are 50 MiB/s (K, M, G, T are powers of 1024, as in shift
// replicate --bandwidth); "400Mbit/s" and "400Mbps" are 400 million bits per
// second (powers of 1000, as links are sold); a plain number is bytes per
// second.
type Bandwidth int64

var rateRe = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)\s*(?:([KMGT])(?:i?B)?|([kKMGT])(?:bit|bps|b)|B)?(?:/s)?$`)

func (b *Bandwidth) parse(s string) error {
	m := rateRe.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return fmt.Errorf("bandwidth %q: write bytes per second as 50M (MiB/s) or bits as 400Mbit/s", s)
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	switch {
	case m[2] != "":
		v *= math.Pow(1024, float64(strings.Index("KMGT", m[2])+1))
	case m[3] != "":
		v *= math.Pow(1000, float64(strings.Index("KMGT", strings.ToUpper(m[3]))+1)) / 8
	}
	if v < 1 || v > math.MaxInt64/2 {
		return fmt.Errorf("bandwidth %q: must be at least 1 byte per second (leave it out for no limit)", s)
	}
	*b = Bandwidth(v)
	return nil
}

// String writes the rate the way parse reads it back: "50M" when it is a
// whole number of KiB/s, MiB/s, ..., else "400Mbit/s" when it is a whole
// number of kbit/s, Mbit/s, Gbit/s, else bytes per second.
func (b Bandwidth) String() string {
	v := int64(b)
	if v%1024 != 0 {
		for _, u := range []struct {
			bits int64
			name string
		}{{1e9, "Gbit/s"}, {1e6, "Mbit/s"}, {1e3, "kbit/s"}} {
			if v*8%u.bits == 0 {
				return fmt.Sprintf("%d%s", v*8/u.bits, u.name)
			}
		}
	}
	return binaryString(v)
}

// UnmarshalYAML reads a rate.
func (b *Bandwidth) UnmarshalYAML(n *yaml.Node) error { return b.parse(n.Value) }

// MarshalYAML writes the rate.
func (b Bandwidth) MarshalYAML() (any, error) { return b.String(), nil }

// ByteSize is a number of bytes, written like a Bandwidth without "/s":
// "256M", "16G", "16GiB" (powers of 1024) or a plain number of bytes.
type ByteSize int64

var sizeRe = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)\s*(?:([KMGT])(?:i?B)?|B)?$`)

func (z *ByteSize) parse(s string) error {
	m := sizeRe.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return fmt.Errorf("size %q: write it as 256M or 16G (K, M, G, T are powers of 1024)", s)
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	if m[2] != "" {
		v *= math.Pow(1024, float64(strings.Index("KMGT", m[2])+1))
	}
	if v < 1 || v > math.MaxInt64/2 {
		return fmt.Errorf("size %q: must be at least 1 byte", s)
	}
	*z = ByteSize(v)
	return nil
}

// String writes the size the way parse reads it back.
func (z ByteSize) String() string { return binaryString(int64(z)) }

// UnmarshalYAML reads a size.
func (z *ByteSize) UnmarshalYAML(n *yaml.Node) error { return z.parse(n.Value) }

// MarshalYAML writes the size.
func (z ByteSize) MarshalYAML() (any, error) { return z.String(), nil }

func binaryString(v int64) string {
	for i := 4; i >= 1; i-- {
		unit := int64(1) << (10 * i)
		if v >= unit && v%unit == 0 {
			return fmt.Sprintf("%d%c", v/unit, "KMGT"[i-1])
		}
	}
	return strconv.FormatInt(v, 10)
}

// Duration is a positive time span written the Go way: "90s", "2m", "1h30m".
type Duration time.Duration

func (d *Duration) parse(s string) error {
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || v <= 0 {
		return fmt.Errorf("duration %q: write it as 90s, 2m or 1h30m", s)
	}
	*d = Duration(v)
	return nil
}

// String writes the duration without zero units ("2m", not "2m0s").
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// UnmarshalYAML reads a duration.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error { return d.parse(n.Value) }

// MarshalYAML writes the duration.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// Time is an instant written in RFC 3339 with its UTC offset:
// 2025-07-05T22:00:00+02:00 or 2025-07-05T20:00:00Z.
type Time struct{ time.Time }

func (t *Time) parse(s string) error {
	v, err := time.Parse(time.RFC3339, strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("time %q: write it in RFC 3339 with its offset, e.g. 2025-07-05T22:00:00+02:00", s)
	}
	t.Time = v
	return nil
}

// UnmarshalYAML reads an instant.
func (t *Time) UnmarshalYAML(n *yaml.Node) error { return t.parse(n.Value) }

// MarshalYAML writes the instant in RFC 3339.
func (t Time) MarshalYAML() (any, error) { return t.Format(time.RFC3339), nil }

// MarshalJSON writes the instant in UTC, so that the digest does not depend
// on the offset it was written with.
func (t Time) MarshalJSON() ([]byte, error) {
	return []byte(strconv.Quote(t.UTC().Format(time.RFC3339Nano))), nil
}

// Size is a VM size: a target size name ("Standard_D4s_v5", written as a
// plain string) or CPUs and memory ({cpus: 4, memory: 16G}).
type Size struct {
	// VMSize is the target's size name; local ignores it and uses the
	// host's own CPUs and memory unless CPUs and Memory are set.
	VMSize string `yaml:"vmSize,omitempty" json:"vmSize,omitempty"`
	CPUs   int    `yaml:"cpus,omitempty" json:"cpus,omitempty"`
	// Memory is the VM's memory.
	Memory ByteSize `yaml:"memory,omitempty" json:"memory,omitempty"`
}

var vmSizeRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,63}$`)

func (z *Size) parse(s string) error {
	s = strings.TrimSpace(s)
	if !vmSizeRe.MatchString(s) {
		return fmt.Errorf("size %q: name a VM size (Standard_D4s_v5) or give {cpus: 4, memory: 16G}", s)
	}
	*z = Size{VMSize: s}
	return nil
}

type sizeFields Size

// UnmarshalYAML reads a size name or a cpus/memory mapping.
func (z *Size) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		return z.parse(n.Value)
	}
	var f sizeFields
	if err := n.Decode(&f); err != nil {
		return err
	}
	*z = Size(f)
	return nil
}

// MarshalYAML writes a size name as a string and CPUs and memory as a
// mapping.
func (z Size) MarshalYAML() (any, error) {
	if z.CPUs == 0 && z.Memory == 0 {
		return z.VMSize, nil
	}
	return sizeFields(z), nil
}

// IsZero reports whether no size is set.
func (z Size) IsZero() bool { return z == Size{} }

func (z Size) check() error {
	switch {
	case z.VMSize != "" && (z.CPUs != 0 || z.Memory != 0):
		return errors.New("set a size name or cpus and memory, not both")
	case z.VMSize != "":
		return z.parse(z.VMSize)
	case z.CPUs < 0 || z.CPUs > 1024:
		return fmt.Errorf("cpus %d: must be 1 to 1024", z.CPUs)
	case (z.CPUs == 0) != (z.Memory == 0):
		return errors.New("give both cpus and memory, e.g. {cpus: 4, memory: 16G}")
	case z.Memory != 0 && z.Memory < 256<<20:
		return fmt.Errorf("memory %s: must be at least 256M", z.Memory)
	}
	return nil
}
