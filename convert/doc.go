// Package convert inspects disk layouts (partition tables, filesystems, extent
// maps) and writes disk images in the formats clouds accept (raw sparse, fixed
// VHD).
//
// convert never imports tui or discover.
package convert
