#!/usr/bin/env bash
# The full test run: format and static checks, the test bed (DynamoDB Local,
# cognito-local, the Cognito shim), every Go test against it, then the
# plugin test with the real Amplify CLI. Installs what it needs on first use.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

STATICCHECK_VERSION=v0.8.2

echo "== checks" >&2
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './testbed/emulators/*'))
if [ -n "$unformatted" ]; then
	echo "not gofmt-formatted:" >&2
	echo "$unformatted" >&2
	exit 1
fi
go vet ./...
GOBIN=$(go env GOPATH)/bin
if [ ! -x "$GOBIN/staticcheck" ] || ! "$GOBIN/staticcheck" -version 2>/dev/null | grep -q "${STATICCHECK_VERSION#v}"; then
	go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
fi
"$GOBIN/staticcheck" ./...

echo "== test bed" >&2
# A fresh test bed for every run, so the shim is the one built from this tree.
testbed/testbed.sh down
trap 'testbed/testbed.sh down' EXIT
testbed/testbed.sh up
# shellcheck disable=SC1091
source .testbed/env
export POOLMIGRATE_REQUIRE_TESTBED=1

# The real Amplify CLI, which the tests run offline (installed once into a
# cache outside the clone).
POOLMIGRATE_AMPLIFY_CLI=$(scripts/amplify-cli.sh)
export POOLMIGRATE_AMPLIFY_CLI
# The Amplify Gen 2 toolchain, which the Gen 2 tests run offline (cdk synth).
POOLMIGRATE_GEN2_TOOLCHAIN=$(scripts/gen2-toolchain.sh)
export POOLMIGRATE_GEN2_TOOLCHAIN

echo "== tests" >&2
# -p 1: packages share the test bed, and like AWS the Cognito shim allows
# one active import job per account, so packages must not run at once.
go test -count=1 -p 1 -timeout 20m "$@" ./...

# The plugin with the real Amplify CLI (installed once into a cache outside
# the clone). POOLMIGRATE_SKIP_AMPLIFY_CLI=1 leaves it out of a quick run.
if [ "${POOLMIGRATE_SKIP_AMPLIFY_CLI:-}" != 1 ]; then
	echo "== Amplify CLI plugin" >&2
	scripts/plugin-test.sh
	echo "== npm install without Go" >&2
	scripts/npm-install-test.sh
fi
