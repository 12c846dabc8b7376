#!/usr/bin/env bash
# The self-test of scripts/checks.sh: a check must fail when any command
# in it fails, when two compared outputs are both empty, when a file grep
# should search is missing, and when jq gets no input; and the lint of the
# shell tests must fail when a file it reads is missing. Run by
# scripts/test.sh before the shell tests rely on it.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# Each case runs check in a fresh bash that sources checks.sh and prints
# "<passed> <failed>": what check counted, whatever the case's command did.
count() { # shell code defining f, then the check command
	bash -c 'set -euo pipefail; . "$1"; eval "$2"; check case $3 2>/dev/null; echo "$passed $failed"' _ "$ROOT/scripts/checks.sh" "$1" "$2"
}
bad=0
expect() { # want ("pass" or "fail"), description, shell code, check command
	local want=$1 what=$2 got
	got=$(count "$3" "$4") || { echo "FAIL $what: the script itself stopped" >&2; bad=$((bad + 1)); return; }
	case "$want:$got" in
	"pass:1 0" | "fail:0 1") echo "ok   $what" >&2 ;;
	*) echo "FAIL $what: want $want, check counted (passed failed) $got" >&2; bad=$((bad + 1)) ;;
	esac
}

printf 'old name\n' >"$TMP/has-old"
printf 'new name\n' >"$TMP/has-new"

expect pass "a check whose commands all succeed passes" 'f() { true; true; }' f
expect fail "a failing last command fails the check" 'f() { true; false; }' f
expect fail "a failing command in the middle fails the check" 'f() { false; true; }' f
expect fail "a failing command substitution in the middle fails the check" 'f() { local x; x=$(false); true; }' f
expect fail "a failing stage of a pipeline fails the check" 'f() { false | cat; true; }' f
expect fail "a failing command in a called function fails the check" 'g() { false; true; }; f() { g; true; }' f
expect pass "same_output passes equal, non-empty outputs" 'f() { same_output "a" "a"; }' f
expect fail "same_output refuses two empty outputs" 'f() { same_output "" ""; }' f
expect fail "same_output refuses different outputs" 'f() { same_output "a" "b" 2>/dev/null; }' f
expect fail "two failing commands compared fail the check" 'f() { local a b; a=$(false); b=$(false); same_output "$a" "$b"; }' f
expect pass "absent passes when no file holds the pattern" "f() { absent 'old' '$TMP/has-new'; }" f
expect fail "absent fails when a file holds the pattern" "f() { absent 'old' '$TMP/has-new' '$TMP/has-old'; }" f
expect fail "absent fails when a file is missing (grep's 2)" "f() { absent 'old' '$TMP/has-new' '$TMP/no-such-file'; }" f
expect fail "absent fails when the only file is missing" "f() { absent 'old' '$TMP/no-such-file'; }" f
if command -v jq >/dev/null; then
	expect pass "jq_true passes a true filter" "f() { echo '{\"a\":1}' | jq_true '.a == 1'; }" f
	expect fail "jq_true fails a false filter" "f() { echo '{\"a\":1}' | jq_true '.a == 2'; }" f
	expect fail "jq_true fails on empty input (jq 1.6 -e says 0)" "f() { printf '' | jq_true '.a == 1'; }" f
	expect fail "jq_true fails on a failing command's empty output" "f() { false | jq_true 'true'; }" f
	expect pass "jq_true reads all of a long output" "f() { seq 1 200000 | sed 's/.*/{\"a\":1}/' | jq_true '.a == 1'; }" f
else
	echo "FAIL jq is not installed (.ci/run installs it)" >&2
	bad=$((bad + 1))
fi
# checks_done fails when a check failed, and when nothing was checked.
if bash -c '. "$1"; check x false 2>/dev/null; checks_done t >/dev/null' _ "$ROOT/scripts/checks.sh"; then
	echo "FAIL checks_done passed a failed check" >&2
	bad=$((bad + 1))
fi
if bash -c '. "$1"; checks_done t >/dev/null' _ "$ROOT/scripts/checks.sh"; then
	echo "FAIL checks_done passed with no checks at all" >&2
	bad=$((bad + 1))
fi
# The script goes on after a failed check (set -e must not end it there).
if [ "$(bash -c 'set -e; . "$1"; check x false 2>/dev/null; echo after' _ "$ROOT/scripts/checks.sh")" != after ]; then
	echo "FAIL a failed check stopped the script" >&2
	bad=$((bad + 1))
fi
# No shell test uses a bare `jq -e` (jq_true instead) or a negated grep
# (absent instead); comments and this file aside. A file the lint cannot
# read fails it (grep's 2), as a glob that matches nothing does: a lint
# that reads nothing passes everything.
LINTED=("$ROOT"/scripts/*.sh "$ROOT"/testbed/*.sh "$ROOT"/.ci/run)
lint_files() { # pattern, what to use instead, the file that may (the helper), files…
	local pattern=$1 instead=$2 helper=$3 found rc=0
	shift 3
	found=$(grep -nE "$pattern" "$@") || rc=$?
	if [ "$rc" -gt 1 ]; then
		echo "FAIL the lint for ${instead%%:*} could not read every file it lints (grep said $rc): $*" >&2
		return 1
	fi
	found=$(printf '%s\n' "$found" | grep -vE '^[^:]+:[0-9]+:\s*#' | grep -v -e '/scripts/checks-test\.sh:' -e "/scripts/$helper:" -e '^$') || true
	if [ -n "$found" ]; then
		printf '%s\n' "$found" >&2
		echo "FAIL above: $instead" >&2
		return 1
	fi
}
lint() { lint_files "$1" "$2" "$3" "${LINTED[@]}" || bad=$((bad + 1)); }
lint 'jq +(-[a-zA-Z]*e|--exit-status)' "a bare jq -e: use jq_true from scripts/checks.sh (jq 1.6 passes empty input)" checks.sh
lint '!\s*grep' "a negated grep: use absent from scripts/checks.sh (a missing file is grep's 2)" -
lint '\|\s*grep +-[a-zA-Z]*q' "grep -q at the end of a pipe: it stops reading at the first match, and under pipefail the writer's SIGPIPE fails the check; match the captured output" -
# The lint itself: it fails on a missing file and on a match, and passes
# clean files.
printf '#!/bin/sh\necho clean\n' >"$TMP/clean.sh"
printf '#!/bin/sh\nif ! grep x y; then :; fi\n' >"$TMP/dirty.sh"
if lint_files '!\s*grep' "self-test" - "$TMP/clean.sh" "$TMP/no-such-file.sh" 2>/dev/null; then
	echo "FAIL the lint passed with a file it could not read" >&2
	bad=$((bad + 1))
fi
if lint_files '!\s*grep' "self-test" - "$TMP/clean.sh" "$TMP/dirty.sh" 2>/dev/null; then
	echo "FAIL the lint passed a negated grep" >&2
	bad=$((bad + 1))
fi
if ! lint_files '!\s*grep' "self-test" - "$TMP/clean.sh"; then
	echo "FAIL the lint refused a clean file" >&2
	bad=$((bad + 1))
fi
[ "$bad" = 0 ] || { echo "checks.sh self-test: $bad failed" >&2; exit 1; }
echo "checks.sh self-test: ok"
