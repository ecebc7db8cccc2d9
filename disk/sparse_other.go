//go:build !linux

package disk

import (
	"context"
	"os"
)

func sparseExtents(ctx context.Context, f *os.File, size int64) ([]Extent, error) {
	return nil, errNoSparseMap
}
