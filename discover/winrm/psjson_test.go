package winrm

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shift-migrate/shift/inventory"
	"github.com/shift-migrate/shift/remote/psjson"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ms(v int64) time.Time { return time.UnixMilli(v).UTC() }

// The samples below are verbatim 5.1 output (see testdata/README.md).

func TestPSJSONCalendarDates(t *testing.T) {
	var cal struct {
		MinSupportedDateTime psjson.Time
		MaxSupportedDateTime psjson.Time
		AlgorithmType        psjson.Enum
		Eras                 psjson.List[psjson.Int]
		TwoDigitYearMax      psjson.Int
		IsReadOnly           psjson.Bool
	}
	if err := psjson.Decode(readTestdata(t, "calendar.json"), &cal); err != nil {
		t.Fatal(err)
	}
	if want := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC); !cal.MinSupportedDateTime.Equal(want) {
		t.Errorf("min = %v, want %v", cal.MinSupportedDateTime, want)
	}
	if want := ms(253402300799999); !cal.MaxSupportedDateTime.Equal(want) {
		t.Errorf("max = %v, want %v", cal.MaxSupportedDateTime, want)
	}
	if cal.AlgorithmType.Num != 1 || len(cal.Eras) != 1 || cal.Eras[0].Value != 1 || cal.TwoDigitYearMax.Value != 2029 || !cal.IsReadOnly.Valid || cal.IsReadOnly.Value {
		t.Errorf("calendar = %+v", cal)
	}
}

func TestPSJSONGetDateShapes(t *testing.T) {
	var all struct {
		DisplayHint psjson.Enum
		Date        psjson.Time
		DayOfWeek   psjson.Enum
		Ticks       psjson.Uint
		TimeOfDay   struct{ Hours psjson.Int }
	}
	if err := psjson.Decode(readTestdata(t, "get-date-select-all.json"), &all); err != nil {
		t.Fatal(err)
	}
	if !all.Date.Equal(ms(1326441600000)) || all.DisplayHint.Num != 2 || all.DayOfWeek.Num != 5 || all.Ticks.Value != 634620819762218083 || all.TimeOfDay.Hours.Value != 20 {
		t.Errorf("Get-Date | Select * = %+v", all)
	}

	var wrapped psjson.Time
	if err := psjson.Decode(readTestdata(t, "get-date-wrapper.json"), &wrapped); err != nil {
		t.Fatal(err)
	}
	if !wrapped.Equal(ms(1720919582928)) {
		t.Errorf("Get-Date wrapper = %v", wrapped)
	}

	// The fragment ends inside the array; close it.
	frag := bytes.TrimRight(bytes.TrimSpace(readTestdata(t, "created-wrapper.fragment.json")), ",")
	frag = append(frag, ']')
	items, err := psjson.DecodeList[struct {
		Created psjson.Time
		Comment psjson.String
	}](frag)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || !items[0].Created.Equal(ms(1591287561241)) || items[0].Comment != "config data for script tool" {
		t.Errorf("pscustomobject with a DateTime = %+v", items)
	}
}

func TestPSJSONTimeFormats(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{`"\/Date(1326441600000)\/"`, ms(1326441600000)},
		{`"\/Date(1326441600000+0100)\/"`, ms(1326441600000)},
		{`"\/Date(-62135596800000)\/"`, time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)},
		{`"20230804230321.499708-300"`, time.Date(2023, 8, 5, 4, 3, 21, 499708000, time.UTC)},
		{`"20231015123456.000000+060"`, time.Date(2023, 10, 15, 11, 34, 56, 0, time.UTC)},
		{`"2023-07-27T01:34:00Z"`, time.Date(2023, 7, 27, 1, 34, 0, 0, time.UTC)},
		{`{"value":"\/Date(1720919582928)\/","DisplayHint":2,"DateTime":"Sunday 14 July 2024 02:13:02"}`, ms(1720919582928)},
		{`null`, time.Time{}},
		{`""`, time.Time{}},
	} {
		var got psjson.Time
		if err := psjson.Decode([]byte(tc.in), &got); err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if !got.Equal(tc.want) {
			t.Errorf("%s = %v, want %v", tc.in, got.Time, tc.want)
		}
	}
	for _, bad := range []string{`"Friday, January 13, 2012"`, `1326441600000`, `{"DisplayHint":2}`, `"\/Date(abc)\/"`} {
		var got psjson.Time
		if err := psjson.Decode([]byte(bad), &got); err == nil {
			t.Errorf("%s: decoded as %v, want an error", bad, got.Time)
		}
	}
}

type testService struct {
	Name      psjson.String
	Status    psjson.Enum
	StartType psjson.Enum
}

func TestPSJSONSingleObjectAndList(t *testing.T) {
	one, err := psjson.DecodeList[testService](readTestdata(t, "service-adws.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(one) != 1 || one[0].Name != "ADWS" || serviceState(one[0].Status) != "running" || one[0].StartType.Text(startModes) != "auto" {
		t.Errorf("single service = %+v", one)
	}
	many, err := psjson.DecodeList[testService](readTestdata(t, "services-list.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(many) != 7 || many[5].Name != "BthHFSrv" || serviceState(many[5].Status) != "stopped" {
		t.Errorf("services = %+v", many)
	}
	single, err := psjson.DecodeList[testService](readTestdata(t, "service-bits.json"))
	if err != nil || len(single) != 1 || single[0].Name != "bits" {
		t.Errorf("bits = %+v, %v", single, err)
	}

	for _, empty := range [][]byte{nil, []byte("  \r\n"), []byte("\xef\xbb\xbf"), []byte("null")} {
		got, err := psjson.DecodeList[testService](empty)
		if err != nil || len(got) != 0 {
			t.Errorf("%q: %v, %v; want no items", empty, got, err)
		}
	}
	wrapped, err := psjson.DecodeList[testService]([]byte("\xef\xbb\xbf{\r\n    \"value\":  [\r\n {\"Name\": \"a\"}, {\"Name\": \"b\"}\r\n ],\r\n    \"Count\":  2\r\n}\r\n"))
	if err != nil || len(wrapped) != 2 || wrapped[1].Name != "b" {
		t.Errorf("{value, Count} = %+v, %v", wrapped, err)
	}
}

func TestPSJSONDepthTruncationNamesTheField(t *testing.T) {
	var users struct {
		Users psjson.List[struct {
			IsCertified psjson.Bool `json:"isCertified"`
			Email       psjson.Strings
		}]
	}
	err := psjson.Decode(readTestdata(t, "depth2-email.json"), &users)
	var pe *psjson.Error
	if !errors.As(err, &pe) || !strings.Contains(pe.Field, "Email") || !strings.Contains(err.Error(), "-Depth") {
		t.Fatalf("depth-2 Email: err = %v, want a parse error naming Users.Email and -Depth", err)
	}

	var bits struct {
		RequiredServices psjson.List[struct {
			ServiceName        psjson.String
			ServicesDependedOn psjson.Strings
		}]
	}
	err = psjson.Decode(readTestdata(t, "service-bits-nested-depth2.json"), &bits)
	if !errors.As(err, &pe) || !strings.Contains(pe.Field, "ServicesDependedOn") {
		t.Fatalf("nested services: err = %v, want an error naming ServicesDependedOn", err)
	}

	// A type name where an object was expected.
	var cim struct {
		CimSystemProperties struct{ Namespace psjson.String }
	}
	err = psjson.Decode([]byte(`{"CimSystemProperties":  "Microsoft.Management.Infrastructure.CimSystemProperties"}`), &cim)
	if !errors.As(err, &pe) || pe.Field != "CimSystemProperties" || !strings.Contains(err.Error(), "flattened") {
		t.Fatalf("type name for an object: err = %v", err)
	}
}

func TestPSJSONBitLocker(t *testing.T) {
	type vol struct {
		MountPoint        psjson.String
		VolumeStatus      psjson.Enum
		ProtectionStatus  psjson.Enum
		EncryptionMethod  psjson.Enum
		CapacityGB        psjson.Float
		AutoUnlockEnabled psjson.Bool
	}
	vols, err := psjson.DecodeList[vol](readTestdata(t, "bitlocker-fleet.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(vols) != 2 || vols[0].MountPoint != "C:" || vols[0].VolumeStatus.Text(volumeStatuses) != "FullyEncrypted" ||
		vols[0].ProtectionStatus.Text(protectionStatuses) != "On" || vols[0].EncryptionMethod.Num != 6 ||
		vols[0].CapacityGB.Value != 475.77832 || vols[0].AutoUnlockEnabled.Valid ||
		vols[1].VolumeStatus.Text(volumeStatuses) != "FullyDecrypted" {
		t.Errorf("bitlocker = %+v", vols)
	}
	one, err := psjson.DecodeList[vol](readTestdata(t, "bitlocker-single-object.json"))
	if err != nil || len(one) != 1 || one[0].MountPoint != "C:" {
		t.Errorf("single = %+v, %v", one, err)
	}
}

func TestPSJSONRunnerDisks(t *testing.T) {
	var out struct {
		Administrator psjson.Bool
		Disks         psjson.List[struct {
			Number         psjson.Int
			SerialNumber   psjson.String
			BusType        psjson.String
			Size           psjson.Uint
			PartitionStyle psjson.Enum
		}]
		Partitions psjson.List[struct {
			DiskNumber  psjson.Int
			DriveLetter psjson.Char
			AccessPaths psjson.Strings
			FileSystem  psjson.String
			Label       psjson.String
		}]
	}
	if err := psjson.Decode(readTestdata(t, "get-disk-runner.json"), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Disks) != 3 || out.Disks[1].PartitionStyle.Text(partitionStyles) != "GPT" || out.Disks[2].PartitionStyle.Text(nil) != "MBR" ||
		out.Disks[0].Size.Value != 23622320128 || out.Disks[0].BusType != "File Backed Virtual" || out.Disks[0].SerialNumber != "" {
		t.Errorf("disks = %+v", out.Disks)
	}
	letters := ""
	for _, p := range out.Partitions {
		letters += string(p.DriveLetter) + "|"
	}
	if letters != "|||C|D|" {
		t.Errorf("drive letters = %q, want no letter for \\u0000", letters)
	}
	if len(out.Partitions[0].AccessPaths) != 0 || len(out.Partitions[3].AccessPaths) != 2 || out.Partitions[3].AccessPaths[0] != `C:\` {
		t.Errorf("access paths = %q, %q", out.Partitions[0].AccessPaths, out.Partitions[3].AccessPaths)
	}
}

func TestPSJSONRegistryAndLogicalDisk(t *testing.T) {
	sw, err := psjson.DecodeList[struct {
		DisplayName   psjson.String
		InstallDate   psjson.String
		EstimatedSize psjson.Uint
	}](readTestdata(t, "uninstall-dotnet.json"))
	if err != nil || len(sw) != 1 || installDate(string(sw[0].InstallDate)) != "2026-09-07" || sw[0].EstimatedSize.Value != 83332 {
		t.Errorf("uninstall = %+v, %v", sw, err)
	}
	ld, err := psjson.DecodeList[struct {
		DeviceID  psjson.String
		Size      psjson.Uint
		FreeSpace psjson.Uint
	}](readTestdata(t, "win32-logicaldisk.json"))
	if err != nil || len(ld) != 1 || ld[0].Size.Value != 999271952384 {
		t.Errorf("logical disk = %+v, %v", ld, err)
	}
}

func TestPSJSONScalars(t *testing.T) {
	var v struct {
		A, B, C psjson.Uint
		D       psjson.Int
		E, F, G psjson.Bool
		H       psjson.Char
		I       psjson.Char
		J       psjson.String
	}
	in := `{"A": "161061273600", "B": 1.6106127e+11, "C": null, "D": "-5", "E": "True", "F": 0, "G": null, "H": 67, "I": "d", "J": 150}`
	if err := psjson.Decode([]byte(in), &v); err != nil {
		t.Fatal(err)
	}
	if v.A.Value != 161061273600 || v.B.Value != 161061270000 || v.C.Valid || v.D.Value != -5 ||
		!v.E.True() || !v.F.Valid || v.F.Value || v.G.Ptr() != nil || v.H != "C" || v.I != "D" || v.J != "150" {
		t.Errorf("scalars = %+v", v)
	}
	for _, bad := range []string{`{"A": "twelve"}`, `{"A": -1}`, `{"A": {}}`, `{"J": {"Major": 16}}`, `{"E": 7}`} {
		if err := psjson.Decode([]byte(bad), &v); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
	if err := psjson.Decode([]byte(" \xef\xbb\xbf "), &v); !errors.Is(err, psjson.ErrEmpty) {
		t.Errorf("empty object output: err = %v, want ErrEmpty", err)
	}
}

func TestCLIXML(t *testing.T) {
	got := psjson.DecodeStderr(readTestdata(t, "clixml-error.txt"))
	if !got.CLIXML || got.Progress != 2 {
		t.Errorf("clixml = %+v", got)
	}
	want := "fake : The term 'fake' is not recognized as the name of a cmdlet, function, script file, or operable program. Check\n" +
		"the spelling of the name, or if a path was included, verify that the path is correct and try again.\n" +
		"At line:1 char:1\n+ fake cmdlet\n+ ~~~~\n" +
		"    + CategoryInfo          : ObjectNotFound: (fake:String) [], CommandNotFoundException\n" +
		"    + FullyQualifiedErrorId : CommandNotFoundException"
	if got.Errors != want {
		t.Errorf("errors =\n%s\nwant\n%s", got.Errors, want)
	}
	if classifyMessage(got.Errors) != "unsupported" {
		t.Errorf("kind = %s", classifyMessage(got.Errors))
	}
	for _, name := range []string{"clixml-progress-only.txt", "clixml-progress-only-bom.txt"} {
		got := psjson.DecodeStderr(readTestdata(t, name))
		if !got.CLIXML || got.Errors != "" || got.Progress != 2 {
			t.Errorf("%s = %+v, want progress only", name, got)
		}
	}
	plain := psjson.DecodeStderr([]byte("Zugriff verweigert \x81\r\n"))
	if plain.CLIXML || plain.Errors != "Zugriff verweigert \uFFFD" {
		t.Errorf("plain = %+v", plain)
	}
	esc := psjson.DecodeStderr([]byte(`#< CLIXML` + "\r\n" + `<Objs Version="1.1.0.1"><S S="Error">a &lt;b&gt; _x005F_ _xD83D__xDE00__x000A_</S></Objs>`))
	if esc.Errors != "a <b> _ \U0001F600" {
		t.Errorf("escapes = %q", esc.Errors)
	}
}

// FuzzPSJSON feeds arbitrary output to every probe parser: they may fail, but
// never panic.
func FuzzPSJSON(f *testing.F) {
	for _, name := range []string{"calendar.json", "get-date-select-all.json", "get-date-wrapper.json",
		"created-wrapper.fragment.json", "service-adws.json", "services-list.json", "service-bits-nested-depth2.json",
		"bitlocker-fleet.json", "bitlocker-single-object.json", "depth2-email.json", "get-disk-runner.json",
		"uninstall-dotnet.json", "win32-logicaldisk.json", "cim-class-depth2.fragment.json"} {
		f.Add(readTestdata(f, name))
	}
	for _, s := range []string{`"\/Date(1326441600000+0100)\/"`, `"20231015123456.000000+060"`, `{"value":[1],"Count":1}`, "\xef\xbb\xbf[]", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, parse := range parsers {
			var h inventory.Host
			_, _ = parse(&h, data)
		}
		_, _ = psjson.DecodeList[testService](data)
		var tm psjson.Time
		_ = psjson.Decode(data, &tm)
	})
}

// FuzzCLIXML feeds arbitrary stderr to the CLIXML decoder.
func FuzzCLIXML(f *testing.F) {
	for _, name := range []string{"clixml-error.txt", "clixml-progress-only.txt", "clixml-progress-only-bom.txt"} {
		f.Add(readTestdata(f, name))
	}
	f.Add([]byte("#< CLIXML\r\n<Objs><S S=\"Error\">_xD83D_ _x00</S>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got := psjson.DecodeStderr(data)
		if strings.Contains(got.Errors, "\r") {
			t.Errorf("errors keep a CR: %q", got.Errors)
		}
		_ = psjson.FirstLine(got.Errors, 300)
	})
}

func psjsonErrors(stderr []byte) string { return psjson.DecodeStderr(stderr).Errors }
