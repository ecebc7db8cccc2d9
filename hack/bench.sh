#!/usr/bin/env bash
# make bench: run every benchmark 6 times and summarise with benchstat
# (medians and their spread). Raw output stays in bench.out; copy the table into
# BENCHMARKS.md together with this command and the machine it ran on.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCHSTAT=golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
count=${BENCH_COUNT:-6}
go test -run '^$' -bench "${BENCH:-.}" -benchmem -count "$count" -timeout 60m ./... | tee bench.out
echo
echo "== medians over $count runs (benchstat)"
go run "$BENCHSTAT" bench.out
