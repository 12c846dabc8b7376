#!/usr/bin/env bash
# Runs every Go fuzz target in the module (each Fuzz* function that
# `go test -list` finds) for a short time each, one after the other; its
# seed corpus (testdata/fuzz/<target>) runs first, as in every go test. A
# failing input is written to testdata/fuzz/<target>/ by go test: commit it
# with the fix, and it stays a test.
#   POOLMIGRATE_FUZZTIME   time per target (default 10s; go test -fuzztime)
#   scripts/fuzz.sh [PACKAGE...]   only these packages (default ./...)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

fuzztime=${POOLMIGRATE_FUZZTIME:-10s}
[ $# -gt 0 ] || set -- ./...
# go test -list prints a package's matching functions, then "ok  <pkg> <time>".
list=$(go test -list '^Fuzz' "$@")
targets=() names=()
while read -r word pkg _; do
	case $word in
	Fuzz*) names+=("$word") ;;
	ok)
		for n in "${names[@]}"; do targets+=("$pkg $n"); done
		names=()
		;;
	esac
done <<<"$list"
[ ${#targets[@]} -gt 0 ] || { echo "no fuzz targets found" >&2; exit 1; }
for t in "${targets[@]}"; do
	read -r pkg name <<<"$t"
	echo "== fuzz $name ($pkg, $fuzztime)" >&2
	go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg"
done
echo "fuzzed ${#targets[@]} targets, $fuzztime each" >&2
