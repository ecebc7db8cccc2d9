package plan

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

// FuzzParse: whatever the bytes, Parse returns a plan or Errors (each with
// the file name), never panics, and a plan it accepts writes back to YAML
// that it accepts again with the same digest.
func FuzzParse(f *testing.F) {
	example, err := os.ReadFile("testdata/example.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	f.Add([]byte(minimal))
	f.Add([]byte("version: 1\nhosts: h\nblackouts: [{every: daily 23:00-01:00 UTC}]\nwaves: [{name: a, window: sat 22:00-sun 06:00 Europe/Berlin, hosts: [{name: x, size: {cpus: 2, memory: 4G}}]}]\n"))
	f.Add([]byte("version: 1\nwaves: &w [*w]\n"))
	f.Add([]byte("{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.yaml", data)
		if err != nil {
			var errs Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("error %T is not Errors: %v", err, err)
			}
			for _, e := range errs {
				if e.File != "fuzz.yaml" || e.Msg == "" {
					t.Fatalf("error without file or message: %#v", e)
				}
			}
			return
		}
		b, err := p.Marshal()
		if err != nil {
			t.Fatalf("accepted plan does not marshal: %v", err)
		}
		q, err := Parse("fuzz.yaml", b)
		if err != nil {
			t.Fatalf("written plan is refused: %v\n%s", err, b)
		}
		if q.Digest() != p.Digest() {
			t.Fatalf("digest changed over write and parse:\n%s", b)
		}
		if b2, _ := q.Marshal(); !bytes.Equal(b, b2) {
			t.Fatalf("written twice differs:\n%s\n%s", b, b2)
		}
	})
}
