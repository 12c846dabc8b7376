#!/usr/bin/env bash
# The install test: what an Amplify developer without Go gets from npm.
#   1. scripts/package.sh builds every platform's package and the main one;
#      `file` checks each binary's format and architecture.
#   2. They are published to a local npm registry (verdaccio, on loopback,
#      with no uplink: the install must need nothing else, as behind a
#      registry mirror).
#   3. `npm install -g amplify-poolmigrate` into a scratch prefix, with Go
#      removed from PATH: only this platform's binary package comes along,
#      and `poolmigrate version` runs through npm's bin link.
#   4. The real Amplify CLI finds the global install (`amplify plugin
#      scan`) and runs `amplify poolmigrate version` and `amplify
#      poolmigrate plan --json` in the example project.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AMP=${POOLMIGRATE_AMPLIFY_CLI:-$("$ROOT/scripts/amplify-cli.sh")}
PORT=${POOLMIGRATE_TEST_REGISTRY_PORT:-4873}
REGISTRY_DIR=$ROOT/testbed/npmregistry
WORK=$(mktemp -d)
REG_PID=
cleanup() {
	[ -n "$REG_PID" ] && kill "$REG_PID" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT
. "$ROOT/scripts/checks.sh"

command -v file >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq file >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq file >/dev/null; }; }

# 1. The release.
"$ROOT/scripts/package.sh" "$WORK/dist"
VERSION=$(node -p "require('$ROOT/package.json').version")
binary_is() { # platform, expected `file` words
	local plat=$1 want=$2 dir=$WORK/unpacked/$1
	mkdir -p "$dir"
	tar xzf "$WORK/dist/poolmigrate-cli-$plat-$VERSION.tgz" -C "$dir"
	local got
	got=$(file -b "$dir"/package/bin/poolmigrate*)
	[[ "$got" == *"$want"* ]] || { echo "  $plat: $got" >&2; return 1; }
}
check "linux-x64 is an x86-64 ELF" binary_is linux-x64 "ELF 64-bit LSB executable, x86-64"
check "linux-arm64 is an aarch64 ELF" binary_is linux-arm64 "ELF 64-bit LSB executable, ARM aarch64"
check "darwin-x64 is an x86_64 Mach-O" binary_is darwin-x64 "Mach-O 64-bit x86_64 executable"
check "darwin-arm64 is an arm64 Mach-O" binary_is darwin-arm64 "Mach-O 64-bit arm64 executable"
check "win32-x64 is an x86-64 PE" binary_is win32-x64 "PE32+ executable (console) x86-64"
sums_ok() { (cd "$WORK/dist" && sha256sum --quiet -c SHA256SUMS); }
check "SHA256SUMS matches the tarballs, the trigger and the token function" sums_ok
trigger_zip_ok() { grep -aq bootstrap "$WORK/dist/migration-trigger-$VERSION-linux-arm64.zip" && grep -aq bootstrap "$WORK/dist/migration-trigger-$VERSION-linux-amd64.zip"; } # its layout is tested in Go (trigger.TestBuild)
check "the release carries the trigger's arm64 and amd64 deployment packages" trigger_zip_ok
tokenmint_zip_ok() { grep -aq bootstrap "$WORK/dist/tokenmint-$VERSION-linux-arm64.zip" && grep -aq bootstrap "$WORK/dist/tokenmint-$VERSION-linux-amd64.zip"; } # its layout is tested in Go (tokenmint/deploy.TestBuildEmbeddedBuildsTheFunction)
check "the release carries the token function's arm64 and amd64 deployment packages" tokenmint_zip_ok
no_install_scripts() {
	tar xzf "$WORK/dist/amplify-poolmigrate-$VERSION.tgz" -C "$WORK" package/package.json
	node -e '
		const p = require(process.argv[1]);
		const bad = Object.keys(p.scripts || {}).filter((s) => /install|prepare/.test(s));
		if (bad.length) { console.error("  install-time scripts:", bad); process.exit(1); }
		if (Object.keys(p.optionalDependencies || {}).length !== 5) { console.error("  optionalDependencies:", p.optionalDependencies); process.exit(1); }
	' "$WORK/package/package.json"
}
check "the main package runs nothing at install and names 5 platform packages" no_install_scripts

# 2. A local registry with no uplink.
"$ROOT/testbed/npm-cached.sh" "$REGISTRY_DIR" verdaccio >/dev/null # installed once, outside the clone
mkdir -p "$WORK/registry"
cat >"$WORK/registry/config.yaml" <<YAML
storage: $WORK/registry/storage
auth:
  htpasswd:
    file: $WORK/registry/htpasswd
    max_users: 10
uplinks: {}
packages:
  '**':
    access: \$all
    publish: \$authenticated
listen: 127.0.0.1:$PORT
max_body_size: 200mb
log: { type: stdout, format: pretty, level: warn }
YAML
"$REGISTRY_DIR/node_modules/.bin/verdaccio" --config "$WORK/registry/config.yaml" >"$WORK/registry/log" 2>&1 &
REG_PID=$!
# Up to two minutes: scripts/test.sh runs this beside the Go tests, and on
# a loaded machine node takes long to start.
for _ in $(seq 1 600); do
	curl -sf "http://127.0.0.1:$PORT/-/ping" >/dev/null 2>&1 && break
	sleep 0.2
done
curl -sf "http://127.0.0.1:$PORT/-/ping" >/dev/null || { cat "$WORK/registry/log" >&2; echo "npm-install-test: the local registry did not start" >&2; exit 1; }
TOKEN=$(curl -sf -X PUT -H 'Content-Type: application/json' \
	-d '{"name":"ci","password":"ci-password-local-only"}' \
	"http://127.0.0.1:$PORT/-/user/org.couchdb.user:ci" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).token))')
NPMRC=$WORK/npmrc
printf 'registry=http://127.0.0.1:%s/\n//127.0.0.1:%s/:_authToken=%s\n' "$PORT" "$PORT" "$TOKEN" >"$NPMRC"
for t in "$WORK"/dist/*.tgz; do
	npm publish "$t" --userconfig "$NPMRC" --access public --loglevel=error >/dev/null
done

# 3. Install as an Amplify developer would, without Go.
NOGO=$WORK/nogo-bin # node, npm and the basics, but no go
mkdir -p "$NOGO"
for tool in node npm npx sh bash env cat uname sed grep dirname basename mkdir rm ls cp mv tar gzip chmod readlink timeout which git; do
	p=$(command -v "$tool" 2>/dev/null) && ln -sf "$p" "$NOGO/$tool"
done
PREFIX=$WORK/prefix
USERHOME=$WORK/home
mkdir -p "$PREFIX" "$USERHOME"
# What `npm config set prefix` writes; npm and the Amplify CLI both read it.
cat "$NPMRC" >"$USERHOME/.npmrc"
echo "prefix=$PREFIX" >>"$USERHOME/.npmrc"
as_user() { env -i HOME="$USERHOME" PATH="$PREFIX/bin:$NOGO" CI=true NO_UPDATE_NOTIFIER=1 "$@"; }
no_go() { # the shell runs, and finds no go
	local out
	out=$(as_user sh -c 'command -v go || echo "no go"')
	[ "$out" = "no go" ] || { echo "  go at $out" >&2; return 1; }
}
check "go is not on the user's PATH" no_go
as_user npm install -g amplify-poolmigrate --no-audit --no-fund --loglevel=error >&2
version_runs() {
	local out
	out=$(as_user poolmigrate version) || return 1
	echo "  $out" >&2
	[[ "$out" == "poolmigrate $VERSION (commit "* ]] && [[ "$out" == *"linux/amd64"* || "$out" == *"linux/arm64"* ]] &&
		[[ "$out" == *"user migration trigger: prebuilt (linux/arm64"*"linux/amd64"* ]] && # trigger deploy needs no Go, on either architecture
		[[ "$out" == *"token function: prebuilt (linux/arm64"*"linux/amd64"* ]] # nor do storage copy and storage link
}
check "poolmigrate version through npm's bin link" version_runs
only_this_platform() {
	local got
	got=$(ls "$PREFIX/lib/node_modules/amplify-poolmigrate/node_modules/@poolmigrate/" 2>/dev/null || ls "$PREFIX/lib/node_modules/@poolmigrate/")
	[ "$got" = "cli-linux-$(node -p process.arch)" ] || { echo "  installed: $got" >&2; return 1; }
}
check "npm installed only this platform's binary package" only_this_platform

# Without the binary package (optional dependencies disabled, or a broken
# install) the command says what is wrong and what to do, and fails. npm
# 10 installs optional dependencies globally even with --omit=optional, so
# the package is taken away by hand.
says_what_to_do() {
	local prefix=$WORK/prefix-no-binary out rc=0
	as_user npm install -g --prefix "$prefix" amplify-poolmigrate --no-audit --no-fund --loglevel=error >/dev/null 2>&1 || return 1
	rm -rf "$prefix/lib/node_modules/amplify-poolmigrate/node_modules/@poolmigrate" "$prefix/lib/node_modules/@poolmigrate"
	out=$(as_user "$prefix/bin/poolmigrate" version 2>&1) || rc=$?
	echo "  $out" >&2
	[ "$rc" = 1 ] && [[ "$out" == *"@poolmigrate/cli-linux-"*"was not installed"* ]] && [[ "$out" == *"--omit=optional"* ]]
}
check "without its binary package, poolmigrate says what to do" says_what_to_do

# 4. The Amplify CLI finds the global install.
AMPDIR=$(dirname "$(readlink -f "$AMP")")
amplify() { as_user PATH="$PREFIX/bin:$NOGO" AMPLIFY_CLI_ENABLE_USAGE_DATA=false AMPLIFY_CLI_DISABLE_SCRIPTING_FEATURES=1 timeout 300 node "$AMPDIR/amplify" "$@" </dev/null; }
scan_finds_it() {
	amplify plugin scan >"$WORK/scan.log" 2>&1 || { tail -5 "$WORK/scan.log" >&2; return 1; }
	node -e '
		const p = require(process.argv[1]).plugins.poolmigrate || [];
		if (!p.some((i) => i.packageLocation.startsWith(process.argv[2]))) { console.error("  plugins.json:", JSON.stringify(p)); process.exit(1); }
	' "$USERHOME/.amplify/plugins.json" "$PREFIX/"
}
check "amplify plugin scan finds the global install" scan_finds_it
amplify_version() {
	local out
	out=$(amplify poolmigrate version 2>/dev/null)
	[[ "$out" == "poolmigrate $VERSION "* ]] || { echo "  $out" >&2; return 1; }
}
check "amplify poolmigrate version" amplify_version
cp -r "$ROOT/examples/notes-app" "$WORK/notes-app"
rm -f "$WORK/notes-app/amplify/.config/local-aws-info.json"
plan_same() {
	local want got
	want=$(cd "$WORK/notes-app" && as_user poolmigrate plan --json)
	got=$(cd "$WORK/notes-app" && amplify poolmigrate plan --json 2>/dev/null)
	same_output "$want" "$got"
}
check "amplify poolmigrate plan --json in the example project" plan_same

checks_done "npm install"
