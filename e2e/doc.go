// Package e2e holds the end-to-end tests: a Debian server with PostgreSQL
// and nginx boots in QEMU as the on-prem source, and the real shift binary
// migrates it into the local cloud and validates it. Run them with
// make e2e; make test runs them too.
package e2e
