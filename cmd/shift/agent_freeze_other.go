//go:build !linux

package main

import (
	"errors"
	"time"
)

// freezeDisk is Linux only: Windows reads a VSS snapshot instead.
func freezeDisk(diskPath string, max time.Duration) (frozen, skipped []string, thaw func(), err error) {
	return nil, nil, nil, errors.New("agent: --freeze works on Linux only (Windows reads a VSS snapshot)")
}

// dropCache: Windows reads a fresh VSS snapshot every pass.
func dropCache(path string) error { return nil }
