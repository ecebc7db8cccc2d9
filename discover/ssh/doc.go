// Package ssh probes a Linux host through a [Runner] (package remote's SSH
// client) and fills an inventory.Host. Every field is parsed from the output of
// a command that exists on minimal distributions: lsblk -J -b -O, findmnt, /proc,
// /sys, /etc/os-release, ip -j, ss, systemctl, dpkg-query or rpm. The parsers
// accept the output of every util-linux and iproute2 version in the reference
// corpus (testdata/reference).
//
// A probe costs two round trips: one POSIX sh script with the login user's
// rights and one run as root (sudo -n), each printing many commands' output
// between marker lines. Each section has its own pure parser; a failed step is
// recorded on the host as an inventory.Error and the probe goes on.
//
// [Sample] collects performance points with one long-running sh loop that
// reads /proc (uptime, stat, meminfo, diskstats, net/dev) once per interval
// with shell builtins; rates are computed from the differences on the
// appliance side by a pure parser.
//
// Imported by package discover only.
package ssh
