// Package discover fills inventory.Host values by probing hosts over the
// connections in package remote: Linux servers over SSH (discover/ssh) and
// Windows servers over WinRM (discover/winrm). It runs many hosts at once under
// a concurrency limit and a per-host timeout, and records each host's errors
// in its inventory entry, so that one failing host never stops the others.
//
// With Options.Sample, each host that was reached is then sampled for
// performance (CPU, memory, disk IOPS and throughput, network) over the
// connection its probe opened, into Host.Samples. Sampling is outside the
// concurrency limit and the per-host timeout, so all hosts are sampled over
// about the same window; when the run's context ends, the points so far are
// kept.
//
// discover never imports tui, cloud or transfer.
package discover
