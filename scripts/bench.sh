#!/usr/bin/env bash
# Benchmarks that print figures (see BENCHMARKS.md): backup memory on
# generated pools up to 1M users, backup throughput through the Cognito
# shim at several --rps, and remap throughput on DynamoDB Local against a
# plain UpdateItem loop. Starts and stops the test bed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
testbed/testbed.sh down
trap 'testbed/testbed.sh down' EXIT
testbed/testbed.sh up
# shellcheck disable=SC1091
source .testbed/env
go test ./cognito ./dynamo -p 1 -run '^$' -bench 'Backup|Remap' -benchtime 1x -timeout 60m "$@"
