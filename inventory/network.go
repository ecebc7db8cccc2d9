package inventory

// NIC is a network interface.
type NIC struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// MAC is lower case with colons.
	MAC string `json:"mac,omitempty"`
	// Up is nil when unknown.
	Up  *bool `json:"up,omitempty"`
	MTU int   `json:"mtu,omitempty"`
	// SpeedMbps is the link speed when known.
	SpeedMbps int `json:"speedMbps,omitempty"`
	// Addresses are the unicast addresses; loopback interfaces are not listed.
	Addresses []IPAddress `json:"addresses,omitempty"`
	// DHCP is true when the interface takes its IPv4 address from DHCP; nil
	// when unknown.
	DHCP     *bool    `json:"dhcp,omitempty"`
	Gateways []string `json:"gateways,omitempty"`
	DNS      []string `json:"dns,omitempty"`
	// Team is true for a Windows NIC team, a Linux bond or team device.
	Team bool `json:"team,omitempty"`
	// Members are the interfaces enslaved to a team or bond.
	Members []string `json:"members,omitempty"`
	// Virtual is true for bridges, VLANs, tunnels and other software devices.
	Virtual bool `json:"virtual,omitempty"`
}

// IPAddress is one address on an interface.
type IPAddress struct {
	Address string `json:"address"`
	Prefix  int    `json:"prefix"`
	// Family is "ipv4" or "ipv6".
	Family string `json:"family"`
	// Origin is "static", "dhcp", "slaac", "link-local" or "" when unknown.
	Origin string `json:"origin,omitempty"`
}
