#!/usr/bin/env bash
# Installs the real Amplify CLI (@aws-amplify/cli-internal 11.1.0, about
# 1.1 GB) once into a cache outside the clone and prints the path of its
# `amplify` executable. Tests, the plugin test and the demo run it offline.
set -euo pipefail
VERSION=11.1.0
CACHE=${POOLMIGRATE_CACHE:-$HOME/.cache/poolmigrate}/amplify-cli-$VERSION
AMP=$CACHE/node_modules/.bin/amplify
if [ ! -x "$AMP" ]; then
	command -v npm >/dev/null || { echo "amplify-cli: npm is needed to install the Amplify CLI" >&2; exit 1; }
	echo "amplify-cli: installing @aws-amplify/cli-internal@$VERSION into $CACHE (once; about a minute)" >&2
	mkdir -p "$CACHE"
	[ -f "$CACHE/package.json" ] || echo '{"name":"poolmigrate-amplify-cli","private":true}' >"$CACHE/package.json"
	(cd "$CACHE" && npm install "@aws-amplify/cli-internal@$VERSION" --no-audit --no-fund --loglevel=error >&2)
fi
echo "$AMP"
