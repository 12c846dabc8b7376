# Sourced by the shell tests: `check NAME CMD...` runs CMD and counts it
# as passed or failed; `checks_done LABEL` prints the count and fails the
# script if any check failed.
#
# CMD runs in a subshell with `set -e` on, as a command of its own: bash
# switches `set -e` off for everything run as an `if` condition or in an
# `&&`/`||` list, so a check function called from there would go on past
# a failing command and pass on its last line. Here the first failing
# command fails the check. (Commands a function runs as conditions, in
# `!`, `&&` or `||`, are still not stopped: end those with `|| return 1`.)
passed=0 failed=0
check() { # name, then a command that must succeed
	local name=$1 rc errexit=
	shift
	case $- in *e*) errexit=1 ;; esac
	set +e
	(
		set -e
		"$@"
	)
	rc=$?
	[ -z "$errexit" ] || set -e
	if [ "$rc" = 0 ]; then
		passed=$((passed + 1))
		echo "ok   $name" >&2
	else
		failed=$((failed + 1))
		echo "FAIL $name" >&2
	fi
}
checks_done() {
	echo "$1: $passed passed, $failed failed"
	[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
}

# same_output WANT GOT: the two outputs are equal and not empty (two
# commands that both fail print nothing, and "" = "").
same_output() {
	[ -n "$1" ] || { echo "  empty output" >&2; return 1; }
	[ "$1" = "$2" ] || { diff <(echo "$1") <(echo "$2") >&2 || true; return 1; }
}

# absent PATTERN FILE...: no FILE holds the extended regular expression.
# grep says 1 for "no match" only; a missing or unreadable file is its 2,
# which `! grep` would take for absent.
absent() {
	local pattern=$1 rc=0
	shift
	grep -qE "$pattern" "$@" || rc=$?
	[ "$rc" = 1 ] || { [ "$rc" = 0 ] && echo "  /$pattern/ found in $*" >&2; return 1; }
}

# jq_true FILTER: the JSON on stdin makes FILTER true. jq 1.6's -e exits 0
# on empty input, so a command that printed nothing would pass: empty
# input fails here. Use it instead of a bare `jq -e` on command output.
jq_true() {
	local input
	input=$(cat)
	[ -n "$input" ] || { echo "  jq $1: empty input" >&2; return 1; }
	jq -e "$1" >/dev/null <<<"$input"
}
