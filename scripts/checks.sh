# Sourced by the shell tests: `check NAME CMD...` runs CMD and counts it
# as passed or failed; `checks_done LABEL` prints the count and fails the
# script if any check failed.
passed=0 failed=0
check() { # name, then a command that must succeed
	local name=$1
	shift
	if "$@"; then
		passed=$((passed + 1))
		echo "ok   $name" >&2
	else
		failed=$((failed + 1))
		echo "FAIL $name" >&2
	fi
}
checks_done() {
	echo "$1: $passed passed, $failed failed"
	[ "$failed" = 0 ]
}
