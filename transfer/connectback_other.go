//go:build !windows

package transfer

import "github.com/shift-migrate/shift/disk"

// openDevice opens a disk or image file (on Windows: a device through
// CreateFile and its length through an ioctl).
func openDevice(path string) (disk.Source, func() error, error) {
	f, err := disk.OpenFile(path)
	if err != nil {
		return nil, nil, err
	}
	return f, f.Close, nil
}
