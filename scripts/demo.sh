#!/usr/bin/env bash
# The demo: the whole migration of the example Amplify project on local
# emulators. It starts the test bed (DynamoDB Local, cognito-local, the
# Cognito shim), plants an old pool with realistic users and tables of
# owner data, and runs `poolmigrate migrate` on a copy of the project in
# .demo/, running the real Amplify CLI offline in between (installed once
# into ~/.cache/poolmigrate; only `amplify push` is simulated), up to the
# verify report. Then it stops the test bed.
#
#   scripts/demo.sh                    the whole migration (users reset their passwords)
#   scripts/demo.sh --keep-passwords   the user migration trigger: users sign in with their old passwords
#   scripts/demo.sh --gen2             an Amplify Gen 2 app (examples/gen2-app): the real Gen 2 toolchain
#                                      synthesizes each step; only the deploys are simulated
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mkdir -p bin
go build -o bin/poolmigrate .
AMPLIFY=$(scripts/amplify-cli.sh)
testbed/testbed.sh down
trap 'testbed/testbed.sh down' EXIT
testbed/testbed.sh up
# shellcheck disable=SC1091
source "${POOLMIGRATE_TESTBED_DIR:-.testbed}/env"
if [ "${1:-}" = --gen2 ]; then
	POOLMIGRATE_GEN2_TOOLCHAIN=$(scripts/gen2-toolchain.sh)
	export POOLMIGRATE_GEN2_TOOLCHAIN
	go run ./testbed/cmd/demo -gen2 -bin bin/poolmigrate -example examples/gen2-app -work .demo-gen2
	exit
fi
if [ "${1:-}" = --keep-passwords ]; then
	# Users keep their passwords: the user migration trigger, run by the
	# Lambda Runtime Interface Emulator for a cognito-local of the demo's own.
	go run ./testbed/cmd/demo -keep-passwords -bin bin/poolmigrate -amplify "$AMPLIFY" -example examples/notes-app -work .demo-keep
	exit
fi
go run ./testbed/cmd/demo -bin bin/poolmigrate -amplify "$AMPLIFY" -example examples/notes-app -work .demo
