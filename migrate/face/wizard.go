package face

// PlanEdit changes one host of a plan file, as the wizard's Plan screen
// does. A nil field leaves the setting as it is.
type PlanEdit struct {
	// Host names the host of the plan to change.
	Host string
	// Hold holds (true) or releases (false) the host. A host of a held wave
	// cannot be released on its own: move it to another wave.
	Hold *bool
	// Wave moves the host into this wave, made (not held) at the end of the
	// plan when the plan has none of that name. A wave left empty goes.
	Wave *string
	// Size is the target VM's size: "" for the source's, a VM size name
	// ("Standard_D4s_v5"), or CPUs and memory ("4 CPUs, 16G", "4/16G").
	Size *string
	// Disks are the source disks that move, by the OS's name or an image
	// path; empty means every disk.
	Disks *[]string
	// Checks names the validation sections to run after cutover: "linux",
	// "sqlServer", "sharePoint". Sections not named are turned off for the
	// host; http and command checks are left as they are.
	Checks *[]string
	// StopServices are stopped on the source before the final pass, in
	// order; empty means none.
	StopServices *[]string
	// Bandwidth caps the host's copy ("50M", "400Mbit/s"); "" means no cap
	// of its own.
	Bandwidth *string
	// Note is put on the first line of the comment above the host, unless
	// the comment holds it already.
	Note *string
}

// PlanHostSettings are the settings of one plan host that the wizard shows
// beside PlanHost, in effect (merged over wave and defaults).
type PlanHostSettings struct {
	Host string
	Wave string
	// Disks are the source disks that move; nil means every disk.
	Disks []string
	// StopServices are stopped on the source at cutover, in order.
	StopServices []string
	// Bandwidth is the host's own cap ("8 MiB/s"); "" means none.
	Bandwidth string
}
