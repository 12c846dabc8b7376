#!/usr/bin/env bash
# Runs every Go fuzz target in the module (each Fuzz* function that
# `go test -list` finds) for a short time each, one after the other; its
# seed corpus (testdata/fuzz/<target>) runs first, as in every go test. A
# failing input is written to testdata/fuzz/<target>/ by go test: commit it
# with the fix, and it stays a test.
#   POOLMIGRATE_FUZZTIME   time per target (default 10s; go test -fuzztime)
#   scripts/fuzz.sh [PACKAGE...]   only these packages (default: every
#                                  package with a Fuzz function)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

fuzztime=${POOLMIGRATE_FUZZTIME:-10s}
if [ $# -eq 0 ]; then
	# The packages with a test file declaring a Fuzz function: go test
	# -list links a test binary for every package it is given, seconds
	# each, and the module has dozens.
	mapfile -t dirs < <(find . -path './.*' -prune -o -path ./testbed/emulators -prune -o -name '*_test.go' -print |
		xargs -r grep -l '^func Fuzz' | xargs -r -n1 dirname | sed 's,^\./,,' | sort -u)
	[ ${#dirs[@]} -gt 0 ] || { echo "no fuzz targets found" >&2; exit 1; }
	set -- "${dirs[@]/#/./}"
fi
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
