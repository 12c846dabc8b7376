#!/usr/bin/env bash
# The demo: the whole migration of the example Amplify project on local
# emulators. It starts the test bed (DynamoDB Local, cognito-local, the
# Cognito shim), plants an old pool with realistic users and tables of
# owner data, and runs `poolmigrate migrate` on a copy of the project in
# .demo/, running the real Amplify CLI offline in between (installed once
# into ~/.cache/poolmigrate; only `amplify push` is simulated), up to the
# verify report. Then it stops the test bed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mkdir -p bin
go build -o bin/poolmigrate .
AMPLIFY=$(scripts/amplify-cli.sh)
testbed/testbed.sh down
trap 'testbed/testbed.sh down' EXIT
testbed/testbed.sh up
# shellcheck disable=SC1091
source .testbed/env
go run ./testbed/cmd/demo -bin bin/poolmigrate -amplify "$AMPLIFY" -example examples/notes-app -work .demo
