//go:build !linux

package transfer

import "os"

// openDirect returns nil: page-cache bypass is only used on Linux.
func openDirect(string) *os.File { return nil }
