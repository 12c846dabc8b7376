#!/usr/bin/env bash
# Runs every Go fuzz target in the module (each func FuzzX(f *testing.F)
# of a test file) for a short time each, one after the other; its
# seed corpus (testdata/fuzz/<target>) runs first, as in every go test. A
# failing input is written to testdata/fuzz/<target>/ by go test: commit it
# with the fix, and it stays a test.
#   POOLMIGRATE_FUZZTIME   time per target (default 10s; go test -fuzztime)
#   scripts/fuzz.sh [PACKAGE...]   only these packages (default: every
#                                  package with a Fuzz function)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

fuzztime=${POOLMIGRATE_FUZZTIME:-10s}
# The folders: the given packages' (go list resolves them without
# building), else every folder of the module but the emulators' and hidden
# ones.
if [ $# -gt 0 ]; then
	mapfile -t dirs < <(go list -f '{{.Dir}}' "$@" | sed "s,^$PWD/,./,")
else
	mapfile -t dirs < <(find . -path './.*' -prune -o -path ./testbed/emulators -prune -o -name '*_test.go' -print | xargs -r -n1 dirname | sort -u)
fi
# The targets: each func FuzzX(f *testing.F) in those folders' test files,
# read from the files rather than from `go test -list`, which links a test
# binary for every package it is given (seconds each) that -fuzz then
# builds again with coverage instrumentation.
targets=()
for dir in "${dirs[@]}"; do
	for name in $(grep -ho '^func Fuzz[A-Za-z0-9_]*(f \*testing\.F)' "$dir"/*_test.go 2>/dev/null | sed 's/^func \([A-Za-z0-9_]*\)(.*/\1/' | sort); do
		targets+=("$dir $name")
	done
done
[ ${#targets[@]} -gt 0 ] || { echo "no fuzz targets found" >&2; exit 1; }
for t in "${targets[@]}"; do
	read -r pkg name <<<"$t"
	echo "== fuzz $name ($pkg, $fuzztime)" >&2
	go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg"
done
echo "fuzzed ${#targets[@]} targets, $fuzztime each" >&2
