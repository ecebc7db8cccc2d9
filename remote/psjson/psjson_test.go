package psjson

import (
	"strings"
	"testing"
	"time"
)

func TestDecodeShapes(t *testing.T) {
	var v struct {
		N     Int
		S     Int
		Null  Int
		B     Bool
		BS    Bool
		Str   String
		Num   String
		T     Time
		TW    Time
		One   List[Int]
		Many  List[Int]
		None  List[Int]
		Obj   List[struct{ A String }]
		Empty List[Int]
	}
	in := "\xef\xbb\xbf" + `{"N": 5, "S": "7", "Null": null, "B": 1, "BS": "False", "Str": "x", "Num": 15.5,
"T": "\/Date(1717899108000)\/", "TW": {"value": "\/Date(-1000)\/", "DisplayHint": 2, "DateTime": "x"},
"One": 1433, "Many": [1, 2], "None": null, "Obj": {"A": "a"}, "Empty": []}` + "\r\n"
	if err := Decode([]byte(in), &v); err != nil {
		t.Fatal(err)
	}
	if v.N.Value != 5 || v.S.Value != 7 || v.Null.Valid || !v.B.Value || v.BS.Value || !v.BS.Valid || v.Str != "x" || v.Num != "15.5" ||
		!v.T.Equal(time.UnixMilli(1717899108000)) || v.TW.UnixMilli() != -1000 ||
		len(v.One) != 1 || v.One[0].Value != 1433 || len(v.Many) != 2 || v.None != nil || len(v.Obj) != 1 || v.Obj[0].A != "a" || len(v.Empty) != 0 {
		t.Errorf("decoded %+v", v)
	}
}

func TestDecodeErrors(t *testing.T) {
	var v struct {
		N Int
		S String
		T Time
	}
	for in, want := range map[string]string{
		"":                         "no output",
		"\xef\xbb\xbf \r\n":        "no output",
		`{"N": "twelve"}`:          "field N",
		`{"N": 1.5}`:               "field N",
		`{"S": {"a": 1}}`:          "field S",
		`{"T": "2024-06-09"}`:      "field T",
		`{"T": {"DateTime": "x"}}`: "field T",
		`{"N": 1,`:                 "unexpected end",
	} {
		err := Decode([]byte(in), &v)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", in, err, want)
		}
	}
}

// FuzzDecode checks that no input makes the decoder panic and that what it
// accepts it accepts again.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"N": "7", "L": 1, "T": "\/Date(1)\/", "B": "True"}`))
	f.Add([]byte(`{"L": [{"N": null}], "T": {"value": "\/Date(-5)\/"}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		type item struct{ N Int }
		var v struct {
			N Int
			B Bool
			S String
			T Time
			L List[item]
		}
		if Decode(in, &v) != nil {
			return
		}
		var again struct {
			N Int
			B Bool
			S String
			T Time
			L List[item]
		}
		if err := Decode(in, &again); err != nil || again.N != v.N || !again.T.Equal(v.T.Time) || len(again.L) != len(v.L) {
			t.Fatalf("not stable: %v", err)
		}
	})
}
