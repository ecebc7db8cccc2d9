package inventory

import "testing"

func TestOSEndOfSupport(t *testing.T) {
	tests := []struct{ id, version, want string }{
		{"debian", "12", "2028-06-30"},
		{"debian", "10", "2024-06-30"},
		{"ubuntu", "22.04", "2032-04-30"},
		{"ubuntu", "20.04", "2030-04-30"},
		{"ubuntu", "23.10", ""}, // interim release: not in the table
		{"rhel", "8.6", "2029-05-31"},
		{"rhel", "9.4", "2032-05-31"},
		{"rhel", "8.0", "2029-05-31"},
		{"RHEL", " 7.9 ", "2024-06-30"},
		{"centos", "7", "2024-06-30"},
		{"rocky", "9.3", "2032-05-31"},
		{"almalinux", "8.10", "2029-03-01"},
		{"ol", "8.9", "2029-07-31"},
		{"sles", "15.6", "2028-12-31"},
		{"sles", "15.2", "2024-12-31"},
		{"sles", "12.5", "2027-10-31"},
		{"sles", "15", ""}, // GA without SP: unknown
		{"opensuse-leap", "15.6", "2026-04-30"},
		{"fedora", "40", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		if got := OSEndOfSupport(tt.id, tt.version); got != tt.want {
			t.Errorf("OSEndOfSupport(%q, %q) = %q, want %q", tt.id, tt.version, got, tt.want)
		}
	}
}

func TestWindowsEndOfSupport(t *testing.T) {
	tests := []struct{ caption, build, want string }{
		{"Microsoft Windows Server 2019 Datacenter", "17763", "2029-01-09"},
		{"Microsoft Windows Server 2019 Datacenter", "10.0.17763", "2029-01-09"},
		{"Microsoft Windows Server 2012 R2 Standard", "6.3.9600", "2023-10-10"},
		{"Microsoft Windows Server 2022 Datacenter", "10.0.20348.2113", "2031-10-14"},
		{"Microsoft Windows Server 2025 Standard", "26100", "2034-10-10"},
		{"Microsoft Windows Server 2016 Standard", "14393", "2027-01-12"},
		{"Microsoft Windows Server 2008 R2 Enterprise", "7601", "2020-01-14"},
		{"Microsoft Windows Server 2008 R2 Enterprise", "", "2020-01-14"}, // from the caption
		{"Microsoft Windows Server 2016 Standard", "", "2027-01-12"},
		{"Microsoft Windows 10 Pro", "19045", "2025-10-14"},
		{"Microsoft Windows 11 Pro", "22631", ""}, // edition-dependent: unknown
		{"Microsoft Windows Server Datacenter", "99999", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		if got := WindowsEndOfSupport(tt.caption, tt.build); got != tt.want {
			t.Errorf("WindowsEndOfSupport(%q, %q) = %q, want %q", tt.caption, tt.build, got, tt.want)
		}
	}
}

func TestSQLServerRelease(t *testing.T) {
	tests := []struct{ version, release, end string }{
		{"10.0.6000.29", "SQL Server 2008", "2019-07-09"},
		{"10.50.6000.34", "SQL Server 2008 R2", "2019-07-09"},
		{"11.0.7001.0", "SQL Server 2012", "2022-07-12"},
		{"12.0.6024.0", "SQL Server 2014", "2024-07-09"},
		{"13.0.6300.2", "SQL Server 2016", "2026-07-14"},
		{"14.0.3456.2", "SQL Server 2017", "2027-10-12"},
		{"15.0.4355.3", "SQL Server 2019", "2030-01-08"},
		{"16.0.4135.4", "SQL Server 2022", "2033-01-11"},
		{"16", "SQL Server 2022", "2033-01-11"},
		{"8.0.2039", "", ""},
		{"garbage", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		r, e := SQLServerRelease(tt.version)
		if r != tt.release || e != tt.end {
			t.Errorf("SQLServerRelease(%q) = %q, %q; want %q, %q", tt.version, r, e, tt.release, tt.end)
		}
	}
}

func TestSharePointRelease(t *testing.T) {
	tests := []struct{ build, release, end string }{
		{"14.0.7015.1000", "SharePoint Server 2010", "2021-04-13"},
		{"15.0.5545.1000", "SharePoint Server 2013", "2023-04-11"},
		{"16.0.4351.1000", "SharePoint Server 2016", "2026-07-14"},
		{"16.0.5429.1000", "SharePoint Server 2016", "2026-07-14"},
		{"16.0.10337.12109", "SharePoint Server 2019", "2026-07-14"},
		{"16.0.14326.20450", "SharePoint Server Subscription Edition", ""},
		{"16.0.17928.20238", "SharePoint Server Subscription Edition", ""},
		{"16.0", "", ""},
		{"12.0.0.6219", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		r, e := SharePointRelease(tt.build)
		if r != tt.release || e != tt.end {
			t.Errorf("SharePointRelease(%q) = %q, %q; want %q, %q", tt.build, r, e, tt.release, tt.end)
		}
	}
}
