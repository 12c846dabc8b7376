#!/usr/bin/env bash
# Benchmarks that print figures (see BENCHMARKS.md): backup memory on
# generated pools up to 1M users, backup throughput through the Cognito
# shim at several --rps and at the quota with 256 shards (100k users),
# remap against a plain UpdateItem loop (on DynamoDB Local, and through a
# 5 ms latency proxy), a remap split between 1, 2 and 4 workers through
# that proxy, remap memory up to 1M items, and the identity map's
# heap up to 1M users (POOLMIGRATE_BENCH_USERS=10000000 adds 10M); then
# storage: the identity map at the shim's quotas (200 users), the copy
# against a sequential CopyObject loop through a 5 ms proxy, and the
# copy's heap up to 100k objects (POOLMIGRATE_BENCH_OBJECTS=1000000 adds
# 1M). Starts and stops the test bed. About 30 minutes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
testbed/testbed.sh down
trap 'testbed/testbed.sh down' EXIT
testbed/testbed.sh up
# shellcheck disable=SC1091
source "${POOLMIGRATE_TESTBED_DIR:-.testbed}/env"
POOLMIGRATE_TESTBED_DIR=$PWD/.testbed go test ./cognito ./dynamo ./migration -p 1 -run '^$' -bench 'Backup|Remap|IdentityMap' -benchtime 1x -timeout 120m "$@"
POOLMIGRATE_TESTBED_DIR=$PWD/.testbed go test ./storage/identitymap ./storage/s3move -p 1 -run '^$' -bench 'BuildAtQuota|CopyVsSequentialLoop|CopyMemory|ResumeState' -benchtime 1x -timeout 60m "$@"
