// Package disk holds the few types that the disk packages share: a source
// disk as an io.ReaderAt with a size and an extent map, and the extents
// themselves. convert builds extent maps from partition tables and
// filesystems, transfer moves the data, cloud targets receive it; they meet
// here without importing each other.
//
// disk imports nothing else from this repository.
package disk
