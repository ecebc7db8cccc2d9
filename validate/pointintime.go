package validate

import "slices"

// dataChecks are the checks whose findings mean "the data moved on": a
// table's rows and content, a database's size. Against a copy taken at an
// earlier moment they say nothing about the copy's health.
var dataChecks = []string{"linux/table-rows", "linux/table-checksum", "sql/table-data", "sql/database-size"}

// PointInTime adjusts findings for a copy compared with a source that kept
// serving after the copy was taken (a test migration boots the replica of
// the last pass while the source takes writes): differences in table data
// become notes. Structure still counts: a table, database, unit, port,
// mount or site that is missing still blocks.
func PointInTime(fs []Finding) []Finding {
	out := slices.Clone(fs)
	for i, f := range out {
		if f.Severity != Info && slices.Contains(dataChecks, f.Check) {
			out[i].Severity = Info
			out[i].Message += " (expected of a point-in-time copy: the source kept taking writes; the cutover's final pass carries them)"
		}
	}
	return out
}
