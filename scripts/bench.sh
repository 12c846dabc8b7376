#!/usr/bin/env bash
# Benchmarks that print figures (see BENCHMARKS.md): backup memory on
# generated pools up to 1M users, and backup throughput through the Cognito
# shim at several --rps. Starts and stops the test bed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
testbed/testbed.sh down
trap 'testbed/testbed.sh down' EXIT
testbed/testbed.sh up
# shellcheck disable=SC1091
source .testbed/env
go test ./cognito -run '^$' -bench 'Backup' -benchtime 1x -timeout 30m "$@"
