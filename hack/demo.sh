#!/usr/bin/env bash
# make demo: start the built-in lab (simulated Windows hosts over WinRM and this
# machine over a real sshd), discover every lab host, and keep the results in
# ./demo-out. Expects bin/shift (make build).
set -euo pipefail
cd "$(dirname "$0")/.."
out=demo-out
rm -rf "$out"; mkdir -p "$out"

bin/shift lab --state "$out/lab" --write-hosts "$out/hosts.yaml" 2>"$out/lab.log" &
lab=$!
trap 'kill $lab 2>/dev/null; wait $lab 2>/dev/null || true' EXIT

for _ in $(seq 1 120); do
  [ -s "$out/hosts.yaml" ] && break
  kill -0 $lab 2>/dev/null || { echo "demo: the lab did not start:"; cat "$out/lab.log"; exit 1; }
  sleep 0.5
done
[ -s "$out/hosts.yaml" ] || { echo "demo: the lab did not write its hosts file in 60 s"; cat "$out/lab.log"; exit 1; }

echo "== lab hosts ($out/hosts.yaml)"
grep -E '^\s+- name:|^\s+name:' "$out/hosts.yaml" | sed 's/.*name: /   /'
echo
echo "== shift discover --hosts $out/hosts.yaml -o $out/inventory.json"
set +e
bin/shift discover --hosts "$out/hosts.yaml" -o "$out/inventory.json"
rc=$?
set -e
echo
case $rc in
  0) echo "demo: every lab host discovered." ;;
  3) echo "demo: done. Exit status 3 means some hosts failed, as the lab intends: one host refuses the password, to show how errors read." ;;
  *) echo "demo: discovery failed (exit $rc)"; exit $rc ;;
esac
echo "demo: the inventory is in $out/inventory.json"
