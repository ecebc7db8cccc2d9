// Package shscript runs many commands on a Linux host in one round trip: it
// builds one POSIX sh script that runs each step and prints its stdout, exit
// code and stderr between marker lines, and splits the script's output back
// into one [Section] per step.
//
// The marker carries a random token ([NewMarker]), so a step's output cannot
// end a section by accident, and the commands the steps run do not see it.
// Output that stops before the final marker (a killed session, a lost
// connection) still yields the sections that arrived; the step that was cut
// keeps what it printed, with Code -1.
//
// Secrets (passwords, URLs with tokens) never go on the command line: a script
// built with [Script].Secrets > 0 reads that many lines of its stdin into the
// shell variables S0, S1, … before anything else runs. Steps run with stdin
// from /dev/null.
//
// The package does not run anything itself: callers send [Build]'s command
// line through the connection they already have (package remote's SSH client,
// with or without sudo, or a local sh in tests) and hand its stdout to
// [Split]. It imports package remote only; discover and validate import it.
package shscript
