#!/usr/bin/env bash
# Installs the pinned Amplify Gen 2 toolchain (testbed/gen2toolchain: the
# @aws-amplify/backend packages, aws-cdk-lib, the cdk CLI, tsx and
# TypeScript 5.8; about 1.2 GB) once into a cache outside the clone, keyed by
# the lock file's hash, and prints the folder holding its node_modules.
# Tests and the demo run `cdk synth` with it offline.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC=$ROOT/testbed/gen2toolchain
HASH=$(sha256sum "$SRC/package-lock.json" | cut -c1-16)
CACHE=${POOLMIGRATE_CACHE:-$HOME/.cache/poolmigrate}/gen2-toolchain-$HASH
if [ ! -x "$CACHE/node_modules/.bin/cdk" ] || [ ! -f "$CACHE/.installed" ]; then
	command -v npm >/dev/null || { echo "gen2-toolchain: npm is needed to install the Amplify Gen 2 toolchain" >&2; exit 1; }
	echo "gen2-toolchain: installing the Amplify Gen 2 toolchain into $CACHE (once; a few minutes)" >&2
	tmp=$CACHE.tmp.$$
	rm -rf "$tmp"
	mkdir -p "$tmp"
	cp "$SRC/package.json" "$SRC/package-lock.json" "$tmp/"
	# `npm install` installs exactly what the lock file pins (npm ci refuses
	# this lock: it counts packages bundled inside aws-cdk and aws-cdk-lib
	# as missing from it). Node 20 draws engine warnings from some
	# packages; they do not matter for synthesis.
	(cd "$tmp" && npm install --no-save --no-audit --no-fund --loglevel=error >&2)
	cmp -s "$SRC/package-lock.json" "$tmp/package-lock.json" || { echo "gen2-toolchain: npm changed the lock file while installing; testbed/gen2toolchain/package-lock.json is out of date" >&2; exit 1; }
	touch "$tmp/.installed"
	rm -rf "$CACHE"
	mv "$tmp" "$CACHE"
fi
echo "$CACHE"
