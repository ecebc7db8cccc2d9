package inventory

import "strings"

// Hypervisor names the hypervisor that the SMBIOS system manufacturer and
// product name point to, in systemd-detect-virt's words ("vmware",
// "microsoft", "kvm", "xen", "oracle" for VirtualBox, "amazon", "google"). It
// returns "" when the strings name none; the caller decides whether that
// means bare metal.
func Hypervisor(manufacturer, product string) string {
	v, p := strings.ToLower(manufacturer), strings.ToLower(product)
	switch {
	case strings.Contains(v, "vmware"):
		return "vmware"
	case strings.Contains(v, "microsoft") && strings.Contains(p, "virtual"):
		return "microsoft"
	case strings.Contains(v, "qemu"), strings.Contains(p, "kvm"), strings.Contains(v, "red hat"):
		return "kvm"
	case strings.Contains(v, "xen"):
		return "xen"
	case strings.Contains(v, "innotek"), strings.Contains(p, "virtualbox"):
		return "oracle"
	case strings.Contains(v, "amazon"):
		return "amazon"
	case strings.Contains(v, "google"):
		return "google"
	}
	return ""
}
