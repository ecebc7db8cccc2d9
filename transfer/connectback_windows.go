//go:build windows

package transfer

import (
	"context"
	"os"
	"syscall"
	"unsafe"

	"github.com/shift-migrate/shift/disk"
)

// ioctlDiskGetLengthInfo is IOCTL_DISK_GET_LENGTH_INFO: the byte length of
// a disk or volume (a shadow copy device included).
const ioctlDiskGetLengthInfo = 0x7405c

// device is a Windows disk or volume opened read-only: \\.\PhysicalDriveN,
// or a VSS shadow copy \\?\GLOBALROOT\Device\HarddiskVolumeShadowCopyN.
// Reads must be sector-aligned, which 4 MiB chunks of a disk whose
// partitions start on MiB boundaries are.
type device struct {
	f    *os.File
	size int64
}

// openDevice opens path read-only, sharing read and write with the running
// system, and asks the driver for its length (Stat says 0 for devices).
func openDevice(path string) (disk.Source, func() error, error) {
	p, err := syscall.UTF16PtrFromString(path)
	if err != nil {
		return nil, nil, err
	}
	h, err := syscall.CreateFile(p, syscall.GENERIC_READ, syscall.FILE_SHARE_READ|syscall.FILE_SHARE_WRITE,
		nil, syscall.OPEN_EXISTING, syscall.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		return nil, nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	var length int64
	var ret uint32
	if err := syscall.DeviceIoControl(h, ioctlDiskGetLengthInfo, nil, 0,
		(*byte)(unsafe.Pointer(&length)), uint32(unsafe.Sizeof(length)), &ret, nil); err != nil {
		// Not a device: an image file, whose size Stat knows.
		syscall.CloseHandle(h)
		f, err := disk.OpenFile(path)
		if err != nil {
			return nil, nil, err
		}
		return f, f.Close, nil
	}
	d := &device{f: os.NewFile(uintptr(h), path), size: length}
	return d, d.f.Close, nil
}

func (d *device) ReadAt(p []byte, off int64) (int, error) { return d.f.ReadAt(p, off) }
func (d *device) Size() int64                             { return d.size }

// Extents knows nothing of a device's allocation: all of it is data.
func (d *device) Extents(context.Context) ([]disk.Extent, error) {
	return []disk.Extent{{Offset: 0, Length: d.size, Data: true}}, nil
}
