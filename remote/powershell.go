package remote

import (
	"encoding/base64"
	"unicode/utf16"
)

// PowerShellBootstrap is the short script shift runs with -EncodedCommand. It
// reads the real script from stdin and runs it as one script block, so that
// scripts of any length avoid the command-line limit (an -EncodedCommand over
// about 3,000 characters breaks on real Windows) and the line-by-line
// interpretation of "-Command -". Output is UTF-8 without a BOM.
const PowerShellBootstrap = `$ErrorActionPreference='Stop';` +
	`[Console]::OutputEncoding=New-Object System.Text.UTF8Encoding $false;` +
	`$s=[Console]::In.ReadToEnd();` +
	`& ([scriptblock]::Create($s))`

// PowerShellCommandLine is the command line a WinRM shell runs for every script.
func PowerShellCommandLine() string {
	return "powershell.exe -NoLogo -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand " +
		EncodePowerShell(PowerShellBootstrap)
}

// EncodePowerShell encodes a script for -EncodedCommand: UTF-16LE, base64.
func EncodePowerShell(script string) string {
	u := utf16.Encode([]rune(script))
	b := make([]byte, 2*len(u))
	for i, r := range u {
		b[2*i] = byte(r)
		b[2*i+1] = byte(r >> 8)
	}
	return base64.StdEncoding.EncodeToString(b)
}
