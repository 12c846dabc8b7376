#!/usr/bin/env bash
# The full test run: format and static checks, the test bed (DynamoDB Local,
# cognito-local, the Cognito shim), every Go test against it with the npm
# install test beside them, then the plugin test with the real Amplify CLI
# beside the fuzz targets. Installs
# what it needs on first use, into ~/.cache/poolmigrate (outside the clone,
# so a fresh clone reuses it). Ends with each stage's time and the number
# of skipped tests; a skipped test not on scripts/allowed-skips.txt fails
# the run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

STATICCHECK_VERSION=v0.8.2

# Stage times, printed at the end whatever happens.
times=() stage_name= stage_start= run_start=$SECONDS testbed_up=
stage() { # ends the running stage; starts the named one
	[ -z "$stage_name" ] || times+=("$(printf '  %-18s %5ds' "$stage_name" $((SECONDS - stage_start)))")
	stage_name=$1 stage_start=$SECONDS
	[ -z "$1" ] || echo "== $1" >&2
}
finish() {
	local rc=$?
	stage ""
	# A failed go test leaves the npm install test running: let it end
	# (it stops its own registry), so nothing outlives the run.
	[ -z "${npm_pid:-}" ] || wait "$npm_pid" || true
	[ -z "$testbed_up" ] || testbed/testbed.sh down
	echo "== stage times" >&2
	printf '%s\n' "${times[@]}" >&2
	printf '  %-18s %5ds\n' total $((SECONDS - run_start)) >&2
	[ ! -f .testbed/skipped ] || echo "Skipped tests: $(cat .testbed/skipped)" >&2
	exit "$rc"
}
trap finish EXIT

stage checks
# GNU patch (the unified diff test applies its output) and jq (the shell
# checks' jq_true): apt installs them if missing.
# bash-completion: the completion test runs bash's real completion.
for tool in patch jq /usr/share/bash-completion/bash_completion; do
	pkg=${tool##*/}
	[ "$pkg" = bash_completion ] && pkg=bash-completion
	command -v "$tool" >/dev/null || [ -f "$tool" ] || {
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y -qq "$pkg" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "$pkg" >/dev/null; }
	}
done
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './testbed/emulators/*'))
if [ -n "$unformatted" ]; then
	echo "not gofmt-formatted:" >&2
	echo "$unformatted" >&2
	exit 1
fi
go vet ./...
GOBIN=$(go env GOPATH)/bin
if [ ! -x "$GOBIN/staticcheck" ] || [[ "$("$GOBIN/staticcheck" -version 2>/dev/null)" != *"${STATICCHECK_VERSION#v}"* ]]; then
	go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
fi
"$GOBIN/staticcheck" ./...
# The shell tests' check() must fail a check whose commands fail.
scripts/checks-test.sh
rm -f .testbed/skipped

stage "test bed"
# A fresh test bed for every run, so the shim is the one built from this tree.
testbed/testbed.sh down
testbed_up=1
testbed/testbed.sh up
# shellcheck disable=SC1091
source "${POOLMIGRATE_TESTBED_DIR:-.testbed}/env"
export POOLMIGRATE_REQUIRE_TESTBED=1
# The real Amplify CLI, which the tests run offline (installed once into a
# cache outside the clone).
POOLMIGRATE_AMPLIFY_CLI=$(scripts/amplify-cli.sh)
export POOLMIGRATE_AMPLIFY_CLI
# The Amplify Gen 2 toolchain, which the Gen 2 tests run offline (cdk synth).
POOLMIGRATE_GEN2_TOOLCHAIN=$(scripts/gen2-toolchain.sh)
export POOLMIGRATE_GEN2_TOOLCHAIN

stage "go tests"
rm -f .testbed/skipped
# The research corpus beside the clone (never inside it): when it is there
# its tests must run; when not, they are the only skips allowed.
allow=/dev/null
if [ -z "${POOLMIGRATE_CORPUS:-}" ] && [ -d ../shared/corpus/amplify-projects ]; then
	POOLMIGRATE_CORPUS=$(cd ../shared/corpus/amplify-projects && pwd)
	export POOLMIGRATE_CORPUS
fi
[ -n "${POOLMIGRATE_CORPUS:-}" ] || allow=scripts/allowed-skips.txt
go build -o .testbed/bin/testsummary ./testbed/cmd/testsummary
# Packages run at once (-p 2) and so do a package's isolated tests
# (t.Parallel, up to -parallel 4: they mostly wait on the test bed): the
# shim counts AWS's quotas and the one active import job per account, as
# AWS does, and testenv gives each test process an account of its own
# (testbed/testenv/account.go); tests that change what the whole test bed
# does (throttling rules, the Lambda's delays) or set the environment run
# alone, before a package's parallel tests start.
# -timeout only guards against a hang: cli runs the real Amplify CLI
# dozens of times, which on a loaded shared machine took over 20 minutes.
# The JSON stays in .testbed/go-test*.json; testsummary prints what go test
# prints, then the tally, and fails on a skip the allow-list does not name.
#
# The tests that only read and write files with the real toolchains (the
# Amplify CLI on the corpus and on overrides, cdk synth) run beside the
# others, in a second go test without the test bed's environment (one that
# reached for the test bed would fail, not skip): they keep both cores
# busy while the test bed's tests mostly wait on it. Its three packages
# share nothing, so they run at once too (-p 3). TestCorpusOnRealCLI runs
# a sample of the corpus, one root per trap its index names (14 of the
# 18 roots the CLI loads, about 450 CPU-seconds);
# POOLMIGRATE_CORPUS_FULL=1 (passed through) runs every root (about 100
# CPU-seconds more). A run given its own arguments (-run X) runs as one.
offline='^(TestCorpusOnRealCLI|TestRetainPoolOnRealCLI|TestTriggerOverrideOnRealCLI|TestBlocksWithTheRealToolchain|TestReadingAgreesWithTheSynthesizedSchema|TestEveryConstructAgreesWithTheSynthesizedStacks)$'
# cli's longest tests that run alone (they set the environment, throttle
# their account or slow the shim's Lambda) run in a third go test beside
# the rest of cli, one after the other as before. Their own process has
# its own environment and its own account (so its own throttling rules);
# the Lambda's delays, which the shim holds for every account, already
# met other packages' tests under -p 2. In cli's process they were a
# serial chain of about 250 s of its 455 s, which the parallel tests
# waited behind; split, cli's tests took 354 s on the same test bed.
alone='^(TestMigrateKeepPasswords|TestMigrateKeepsFilesGen1|TestRemapFallsBackThroughARefusingEngine|TestMigrateGen2KeepPasswords|TestImportUnderThrottling|TestRestoreUnderThrottling|TestStorageCopyRewritesIdentityFields|TestStorageLinkWithTheTrio|TestTriggerDeployRidesOutLambda|TestStorageRetire)$'
gotest=(go test -json -count=1 -timeout 45m)
# The npm install test (scripts/npm-install-test.sh) runs beside the go
# tests in a full run (a run given its own arguments runs it after them,
# beside the fuzz targets), at the same priority: it uses the CPU the go
# tests leave while they wait on the test bed (about 150 CPU-seconds,
# mostly package.sh's cross-builds, and a minute or two waiting on npm and
# the local registry), and shares nothing with them (its own registry
# port, a scratch prefix and home; package.sh writes the prebuilt zips only
# a build tag the tests never set reads). Its output is shown after theirs.
# Not niced: on a machine loaded by other work (six busy loops), a niced
# test got about 2% of a core and ran on for over ten minutes after the go
# tests had ended.
npm_pid= npm_done=
if [ $# -eq 0 ] && [ "${POOLMIGRATE_SKIP_AMPLIFY_CLI:-}" != 1 ]; then
	scripts/npm-install-test.sh >.testbed/npm-install.log 2>&1 &
	npm_pid=$!
fi
bedtest=("${gotest[@]}" -p 2 -parallel 4)
also=() split=
if [ $# -eq 0 ]; then
	split=1 also=(-also .testbed/go-test-offline.json -also .testbed/go-test-alone.json)
	rm -f .testbed/go-test-offline.json .testbed/go-test-alone.json
fi
{
	rc=0
	if [ -n "$split" ]; then
		(
			# shellcheck disable=SC2046
			unset $(sed -n 's/^export \([A-Z0-9_]*\)=.*/\1/p' "${POOLMIGRATE_TESTBED_DIR:-.testbed}/env")
			export POOLMIGRATE_REQUIRE_TESTBED=1
			exec "${gotest[@]}" -p 3 -run "$offline" ./cli ./gen2patch ./amplifygen2 \
				>.testbed/go-test-offline.json 2>.testbed/go-test-offline.err
		) &
		offline_pid=$!
		"${gotest[@]}" -run "$alone" ./cli >.testbed/go-test-alone.json 2>.testbed/go-test-alone.err &
		alone_pid=$!
		"${bedtest[@]}" -skip "$offline|$alone" ./... || rc=$?
		wait "$offline_pid" || rc=$?
		wait "$alone_pid" || rc=$?
		cat .testbed/go-test-offline.err .testbed/go-test-alone.err >&2
	else
		"${bedtest[@]}" "$@" ./... || rc=$?
	fi
	exit "$rc"
} | tee .testbed/go-test.json |
	.testbed/bin/testsummary -allow "$allow" -skipped-to .testbed/skipped "${also[@]}"
if [ -n "$npm_pid" ]; then
	npm_rc=0
	wait "$npm_pid" || npm_rc=$?
	npm_pid= npm_done=1
	echo "== npm install (beside the go tests)" >&2
	cat .testbed/npm-install.log >&2
	[ "$npm_rc" -eq 0 ] || { echo "npm install test failed" >&2; exit "$npm_rc"; }
fi

# The plugin with the real Amplify CLI (installed once into a cache outside
# the clone), beside every Go fuzz target for a short time
# (POOLMIGRATE_FUZZTIME, default 10s each, after its seed corpus in
# testdata/fuzz): each fuzz target runs for its time whatever else runs,
# and its output is shown after the plugin test's (and the npm install
# test's, when it did not run beside the go tests).
# POOLMIGRATE_SKIP_AMPLIFY_CLI=1 leaves both Amplify CLI tests out of a
# quick run.
if [ "${POOLMIGRATE_SKIP_AMPLIFY_CLI:-}" != 1 ]; then
	stage "plugin test + fuzz"
	scripts/fuzz.sh >.testbed/fuzz.log 2>&1 &
	fuzz_pid=$!
	rc=0
	scripts/plugin-test.sh || rc=$?
	[ -n "$npm_done" ] || scripts/npm-install-test.sh || rc=$?
	fuzz_rc=0
	wait "$fuzz_pid" || fuzz_rc=$?
	echo "== fuzz" >&2
	cat .testbed/fuzz.log >&2
	[ "$fuzz_rc" -eq 0 ] || { echo "fuzz failed" >&2; exit "$fuzz_rc"; }
	[ "$rc" -eq 0 ] || exit "$rc"
else
	stage fuzz
	scripts/fuzz.sh
fi
