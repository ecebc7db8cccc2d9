package transfer

import (
	"bytes"
	"testing"

	"github.com/shift-migrate/shift/disk"
)

func TestClearFree(t *testing.T) {
	free := zeroRanges([]disk.Extent{{Offset: 2, Length: 3}, {Offset: 9, Length: 4}, {Offset: 20, Length: 5}}, 30)
	for _, c := range []struct {
		name string
		off  int64
		n    int
		want string
	}{
		{"start of the disk", 0, 8, "11000111"},
		{"range across the end", 8, 4, "1000"},
		{"inside a range", 10, 2, "00"},
		{"no range", 14, 5, "11111"},
		{"last range to the end", 18, 12, "110000011111"},
	} {
		t.Run(c.name, func(t *testing.T) {
			buf := bytes.Repeat([]byte{1}, c.n)
			clearFree(buf, c.off, free)
			got := make([]byte, len(buf))
			for i, b := range buf {
				got[i] = '0' + b
			}
			if string(got) != c.want {
				t.Fatalf("clearFree at %d: %s, want %s", c.off, got, c.want)
			}
		})
	}
}
