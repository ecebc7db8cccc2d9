//go:build !linux

package transfer

import "os"

// GrowPipe does nothing here: pipe sizes are a Linux setting.
func GrowPipe(*os.File) {}
