package inventory

import (
	"strconv"
	"strings"
)

// Vendor lifecycle tables. A date is the last day the vendor publishes fixes
// for the release as part of its regular offering, as "YYYY-MM-DD":
//
//   - Windows, SQL Server, SharePoint: end of Extended Support.
//   - Red Hat Enterprise Linux, CentOS, Rocky Linux, AlmaLinux: end of
//     Maintenance Support (the 10-year life cycle; paid ELS add-ons ignored).
//   - Oracle Linux: end of Premier Support.
//   - Ubuntu LTS: end of Expanded Security Maintenance (10 years).
//   - SUSE Linux Enterprise Server: end of LTSS for the service pack.
//   - openSUSE Leap: end of maintenance of the minor release.
//   - Debian: end of Debian LTS.
//
// Paid extensions beyond these (Windows ESU, RHEL ELS, Ubuntu Legacy, Oracle
// Extended Support) are not counted. An unknown release gives "".

// linuxEndOfSupport is keyed by os-release ID, then by release: the major
// version for most distributions, "major.minor" where the vendor supports
// minor releases separately (Ubuntu, SLES service packs, openSUSE Leap).
var linuxEndOfSupport = map[string]map[string]string{
	"debian": {
		"8": "2020-06-30", "9": "2022-06-30", "10": "2024-06-30",
		"11": "2026-08-31", "12": "2028-06-30", "13": "2030-06-30",
	},
	"ubuntu": {
		"14.04": "2024-04-30", "16.04": "2026-04-30", "18.04": "2028-04-30",
		"20.04": "2030-04-30", "22.04": "2032-04-30", "24.04": "2034-04-30",
	},
	"rhel": {
		"6": "2020-11-30", "7": "2024-06-30", "8": "2029-05-31",
		"9": "2032-05-31", "10": "2035-05-31",
	},
	// CentOS Linux 8 and CentOS Stream 8 share ID and VERSION_ID; the earlier
	// date (CentOS Linux 8) is used. 9 exists only as CentOS Stream.
	"centos": {
		"6": "2020-11-30", "7": "2024-06-30", "8": "2021-12-31", "9": "2027-05-31",
	},
	"rocky": {
		"8": "2029-05-31", "9": "2032-05-31", "10": "2035-05-31",
	},
	"almalinux": {
		"8": "2029-03-01", "9": "2032-05-31", "10": "2035-05-31",
	},
	"ol": {
		"6": "2021-03-31", "7": "2024-12-31", "8": "2029-07-31", "9": "2032-06-30",
	},
	"sles": {
		"12.5": "2027-10-31",
		"15.1": "2024-01-31", "15.2": "2024-12-31", "15.3": "2025-12-31",
		"15.4": "2026-12-31", "15.5": "2027-12-31", "15.6": "2028-12-31",
		"15.7": "2034-07-31",
	},
	"opensuse-leap": {
		"15.2": "2021-12-31", "15.3": "2022-12-31", "15.4": "2023-12-31",
		"15.5": "2024-12-31", "15.6": "2026-04-30",
	},
}

// OSEndOfSupport returns the end of support of a Linux distribution release,
// given its os-release ID ("debian", "rhel", "sles") and VERSION_ID ("12",
// "8.6", "15.6"), or "" when shift does not know it.
func OSEndOfSupport(id, versionID string) string {
	table := linuxEndOfSupport[strings.ToLower(strings.TrimSpace(id))]
	if table == nil {
		return ""
	}
	v := strings.TrimSpace(versionID)
	if d, ok := table[v]; ok {
		return d
	}
	// Fall back to the major version: "8.6" → "8", "12.4" → "12".
	major, _, _ := strings.Cut(v, ".")
	return table[major]
}

// windowsServerBuilds maps the Windows build number to the Server release and
// its end of Extended Support.
var windowsServerBuilds = map[int]struct{ release, end string }{
	6001:  {"2008", "2020-01-14"},
	6002:  {"2008", "2020-01-14"},
	6003:  {"2008", "2020-01-14"},
	7600:  {"2008 R2", "2020-01-14"},
	7601:  {"2008 R2", "2020-01-14"},
	9200:  {"2012", "2023-10-10"},
	9600:  {"2012 R2", "2023-10-10"},
	14393: {"2016", "2027-01-12"},
	17763: {"2019", "2029-01-09"},
	20348: {"2022", "2031-10-14"},
	26100: {"2025", "2034-10-10"},
}

// windowsClientBuilds covers the client releases whose end does not depend on
// the edition.
var windowsClientBuilds = map[int]string{
	7600:  "2020-01-14", // Windows 7
	7601:  "2020-01-14", // Windows 7 SP1
	9600:  "2023-01-10", // Windows 8.1
	19045: "2025-10-14", // Windows 10 22H2
}

// WindowsEndOfSupport returns the end of Extended Support of a Windows
// release, from its caption ("Microsoft Windows Server 2019 Datacenter") and
// build ("17763", "10.0.17763" or "10.0.17763.5458"), or "" when unknown.
// Windows Server is recognised by build, or by the year in the caption when the
// build is missing.
func WindowsEndOfSupport(caption, build string) string {
	n := windowsBuildNumber(build)
	server := strings.Contains(strings.ToLower(caption), "server")
	if server {
		if r, ok := windowsServerBuilds[n]; ok {
			return r.end
		}
		// Longer names first, so that "2008 R2" is not taken for "2008".
		for _, rel := range []string{"2008 R2", "2012 R2", "2008", "2012", "2016", "2019", "2022", "2025"} {
			if strings.Contains(caption+" ", "Server "+rel+" ") {
				for _, r := range windowsServerBuilds {
					if r.release == rel {
						return r.end
					}
				}
			}
		}
		return ""
	}
	return windowsClientBuilds[n]
}

// windowsBuildNumber extracts the build number from "17763", "10.0.17763" or
// "10.0.17763.5458"; 0 when there is none.
func windowsBuildNumber(build string) int {
	parts := strings.Split(strings.TrimSpace(build), ".")
	s := parts[0]
	if len(parts) >= 3 {
		s = parts[2]
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0
	}
	return n
}

// sqlServerReleases maps the major.minor product version to the release.
var sqlServerReleases = map[string]struct{ release, end string }{
	"9.0":   {"SQL Server 2005", "2016-04-12"},
	"10.0":  {"SQL Server 2008", "2019-07-09"},
	"10.50": {"SQL Server 2008 R2", "2019-07-09"},
	"11.0":  {"SQL Server 2012", "2022-07-12"},
	"12.0":  {"SQL Server 2014", "2024-07-09"},
	"13.0":  {"SQL Server 2016", "2026-07-14"},
	"14.0":  {"SQL Server 2017", "2027-10-12"},
	"15.0":  {"SQL Server 2019", "2030-01-08"},
	"16.0":  {"SQL Server 2022", "2033-01-11"},
	"17.0":  {"SQL Server 2025", ""},
}

// SQLServerRelease returns the marketing release ("SQL Server 2019") and the
// end of Extended Support of a SQL Server product version ("15.0.4355.3"),
// each "" when unknown.
func SQLServerRelease(version string) (release, endOfSupport string) {
	parts := strings.Split(strings.TrimSpace(version), ".")
	if len(parts) < 2 {
		parts = append(parts, "0")
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return "", ""
	}
	key := strconv.Itoa(major) + ".0"
	if minor == 50 {
		key = strconv.Itoa(major) + ".50"
	}
	r := sqlServerReleases[key]
	return r.release, r.end
}

// SharePointRelease returns the marketing release and the end of Extended
// Support of a SharePoint Server build ("16.0.10337.12109"), each "" when
// unknown. Builds 16.0.4xxx–9xxx are SharePoint Server 2016, 16.0.10xxx–13xxx
// SharePoint Server 2019, 16.0.14xxx and later Subscription Edition (Modern
// Lifecycle: no fixed end date).
func SharePointRelease(build string) (release, endOfSupport string) {
	parts := strings.Split(strings.TrimSpace(build), ".")
	major, err := strconv.Atoi(parts[0])
	if err != nil {
		return "", ""
	}
	switch major {
	case 14:
		return "SharePoint Server 2010", "2021-04-13"
	case 15:
		return "SharePoint Server 2013", "2023-04-11"
	case 16:
		if len(parts) < 3 {
			return "", ""
		}
		b, err := strconv.Atoi(parts[2])
		switch {
		case err != nil:
			return "", ""
		case b >= 14000:
			return "SharePoint Server Subscription Edition", ""
		case b >= 10000:
			return "SharePoint Server 2019", "2026-07-14"
		case b >= 4000:
			return "SharePoint Server 2016", "2026-07-14"
		}
	}
	return "", ""
}
