// Package report renders an [assess.Result] for people and programs: a
// self-contained HTML page (inline CSS and SVG charts, no script, no external
// resource), Markdown, JSON (the versioned schema of assess/SCHEMA.md), CSV
// and XLSX.
//
// Every renderer passes its text through [assess.Redact], so nothing that
// looks like a secret reaches a report. report imports assess, inventory and
// excelize; only cmd/shift and tests import it.
package report
