// Package remote holds shift's connections to source hosts: SSH (dial, password,
// key and agent auth, known_hosts verification with explicit trust on first use,
// jump hosts, sudo, command runs, SFTP upload, stdio streams) and WinRM
// (HTTP/HTTPS endpoints, Basic and NTLM, PowerShell scripts sent through stdin),
// plus the hosts file and the credential references it names.
//
// discover, transfer and validate share these connections; remote imports none
// of them. Secrets live in [Secret] values that never print themselves.
package remote
