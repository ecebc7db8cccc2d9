// Package bench holds the benchmarks that measure shift end to end, across
// packages and through real components (OpenSSH sshd, qemu-img, rsync),
// against the baselines the issues name. It has no code of its own: only
// tests, run by "make bench".
package bench
