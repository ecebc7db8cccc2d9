// Package winrm probes a Windows host over WinRM (package remote) and fills an
// inventory.Host. Probe scripts are PowerShell 5.1 compatible .ps1 files
// embedded in the binary, sent through stdin, and print JSON; the parser
// accepts PowerShell 5.1 JSON as it really is (single objects where arrays are
// expected, \/Date(ms)\/, enums as numbers, a UTF-8 BOM, CLIXML on stderr).
//
// [Sample] collects performance points with Get-Counter (samples.ps1, not one
// of the probe [Scripts]), in runs of at most two minutes; the count and
// interval go on one documented line of the script that fixtures may read.
//
// Imported by package discover only.
package winrm
