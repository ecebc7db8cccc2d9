// Package ssh probes a Linux host over an SSH connection (package remote) and
// fills an inventory.Host. Every field is parsed from the output of a command
// that exists on minimal distributions: lsblk -J -b -O, /proc, /sys,
// /etc/os-release, ip -j, ss, systemctl, dpkg-query or rpm. The parsers accept
// the output of every util-linux and iproute2 version in the reference corpus.
//
// Imported by package discover only.
package ssh
