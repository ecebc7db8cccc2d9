// Package assess turns an inventory into readiness verdicts, blockers with
// their fixes, right-sizing and cost.
//
// [Assess] runs every [Rule] over every host of an inventory. A rule is data
// (id, title, the OS family it concerns) plus a small function over an
// [inventory.Host]; it returns findings that say what was found, name the
// inventory field they rest on, and give the exact fix. A rule whose evidence
// the inventory lacks never passes silently: it returns an "unchecked"
// condition that says how to check by hand. A host that discovery could not
// reach is "not assessed", with its discovery errors.
//
// Sizing maps each host onto a dated VM size and managed-disk [Catalog] (a
// bundled approximation, replaceable by a file): as is from cores, memory,
// disks and NICs, or from performance samples (percentile × comfort factor)
// when an [inventory.SampleSet] is given. Costs add up per host, per wave and
// in total. The package report renders a [Result] as HTML, Markdown, JSON,
// CSV and XLSX; the JSON form is documented in SCHEMA.md.
//
// assess imports inventory only; it never imports tui, transfer, discover or cloud.
package assess
