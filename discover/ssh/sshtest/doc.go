// Package sshtest holds test helpers for the Linux probe: a check that compares
// an inventory.Host probed from this machine with what the test reads from the
// machine directly. Tests of discover/ssh and of the SSH transport (probing
// this machine through a real sshd on loopback) share it.
//
// Imported by tests only.
package sshtest
