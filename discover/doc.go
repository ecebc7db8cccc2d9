// Package discover fills inventory.Host values by probing hosts over the
// connections in package remote: Linux servers over SSH (discover/ssh) and
// Windows servers over WinRM (discover/winrm). It runs many hosts at once under
// a concurrency limit and a per-host timeout, and records each host's errors
// in its inventory entry, so that one failing host never stops the others.
//
// discover never imports tui, cloud or transfer.
package discover
