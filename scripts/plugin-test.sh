#!/usr/bin/env bash
# The plugin test with the real Amplify CLI (@aws-amplify/cli-internal
# 11.1.0, about 1.1 GB, installed once into a cache outside the clone):
# `amplify plugin add` takes this folder, and `amplify poolmigrate ...` runs
# the binary with the user's arguments and passes its exit code back.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AMP=${POOLMIGRATE_AMPLIFY_CLI:-$("$ROOT/scripts/amplify-cli.sh")}
(cd "$ROOT" && go build -o bin/poolmigrate .)

# A private home, so the user's ~/.amplify is not touched; no prompts,
# no telemetry, no update checks. The CLI rewrites a project's
# team-provider-info.json and backend-config.json after every command, so
# the tests run on a copy of the example project.
AMPHOME=$(mktemp -d)
WORK=$(mktemp -d)
trap 'rm -rf "$AMPHOME" "$WORK"' EXIT
cp -r "$ROOT/examples/notes-app" "$WORK/notes-app"
APP=$WORK/notes-app
amplify() {
	HOME=$AMPHOME CI=true NO_UPDATE_NOTIFIER=1 AMPLIFY_CLI_ENABLE_USAGE_DATA=false AMPLIFY_CLI_DISABLE_SCRIPTING_FEATURES=1 \
		timeout 300 "$AMP" "$@" </dev/null
}

. "$ROOT/scripts/checks.sh"

add_output=$(cd "$ROOT" && amplify plugin add "$ROOT" 2>&1 || true)
# `amplify plugin add` exits 0 even when it fails: read what it says.
check "amplify plugin add" grep -q "Successfully added plugin package" <<<"$add_output"

plan_same() { # both must succeed and print the same, non-empty plan
	local dir=$1 want got
	want=$(cd "$dir" && "$ROOT/bin/poolmigrate" plan --json)
	got=$(cd "$dir" && amplify poolmigrate plan --json 2>/dev/null)
	same_output "$want" "$got"
}
check "amplify poolmigrate plan --json = poolmigrate plan --json" plan_same "$APP"
check "the same from a sub-folder of the project" plan_same "$APP/src"

exit_code() {
	local rc=0
	(cd "$APP" && amplify poolmigrate plan --no-such-flag >/dev/null 2>&1) || rc=$?
	[ "$rc" = 2 ]
}
check "the binary's exit code comes back through the CLI" exit_code

help_works() { # the whole output first: grep -q in a pipe would end the writer early
	local out
	out=$(cd "$ROOT" && amplify poolmigrate help 2>&1)
	[[ "$out" == *"poolmigrate <command> [flags]"* ]] || { echo "  $out" | head -5 >&2; return 1; }
}
check "amplify poolmigrate help" help_works

# The CLI passes --help through: the command's own help, not the CLI's.
command_help_same() {
	local want got
	want=$(cd "$APP" && "$ROOT/bin/poolmigrate" patch --help)
	got=$(cd "$APP" && amplify poolmigrate patch --help 2>/dev/null)
	[[ "$want" == *"poolmigrate patch"* ]] || { echo "  poolmigrate patch --help printed no help" >&2; return 1; }
	[ "$want" = "$got" ] || { diff <(echo "$want") <(echo "$got") >&2 || true; return 1; }
}
check "amplify poolmigrate patch --help = poolmigrate patch --help" command_help_same

completion_works() {
	local out
	out=$(cd "$APP" && amplify poolmigrate completion bash 2>/dev/null) || return 1
	[[ "$out" == *"__start_poolmigrate"* ]]
}
check "amplify poolmigrate completion bash" completion_works

# patch through the plugin: the CLI writes team-provider-info.json after the
# command from its stale copy; the plugin must keep what patch wrote.
patch_keeps_tpi() {
	local app=$WORK/patched
	cp -r "$ROOT/examples/notes-app" "$app"
	node -e '
		const fs = require("fs");
		for (const f of ["amplify/backend/backend-config.json", "amplify/backend/amplify-meta.json"]) {
			const p = process.argv[1] + "/" + f, d = JSON.parse(fs.readFileSync(p));
			d.auth.newauth = d.auth.notesappauth; delete d.auth.notesappauth;
			fs.writeFileSync(p, JSON.stringify(d, null, 2));
		}' "$app"
	(cd "$app" && amplify poolmigrate patch --from notesappauth --to newauth >/dev/null 2>&1)
	local tpi=$app/amplify/team-provider-info.json params=$app/amplify/backend/api/notesapi/parameters.json backend=$app/amplify/backend/backend-config.json
	# References to the auth resource: its quoted name or its logical id
	# (the trigger function notesappauthPostConfirmation is a name of its own).
	absent '"notesappauth"|authnotesappauth' "$tpi" "$params" "$backend"
	# ... and the new name where the old one was.
	grep -q '"newauth"' "$tpi"
	grep -q '"authnewauth"' "$params"
	grep -q '"resourceName": "newauth"' "$backend"
	grep -q '"userPoolId": "authnewauth"' "$backend"
}
check "amplify poolmigrate patch: the CLI does not undo team-provider-info.json" patch_keeps_tpi

checks_done "plugin"
