#!/usr/bin/env bash
# Builds the release: poolmigrate cross-compiled for every platform the npm
# packages cover, each into its own npm package (@poolmigrate/cli-<os>-<cpu>,
# only the binary, with os and cpu set so npm installs the matching one),
# and the main package amplify-poolmigrate (the Amplify CLI plugin and the
# `poolmigrate` command) with those packages as optionalDependencies. No
# install scripts, no downloads at install time.
#
#   scripts/package.sh OUTDIR      writes OUTDIR/*.tgz and OUTDIR/SHA256SUMS
#
# The version comes from package.json alone; the commit from git.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:?usage: scripts/package.sh OUTDIR}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
VERSION=$(node -p "require('$ROOT/package.json').version")
COMMIT=$(git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$ROOT" status --porcelain 2>/dev/null)" ]; then
	COMMIT=$COMMIT-dirty
fi
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
LDFLAGS="-s -w -X github.com/poolmigrate/poolmigrate/cli.Version=$VERSION -X github.com/poolmigrate/poolmigrate/cli.Commit=$COMMIT"

# The user migration trigger, prebuilt for Lambda (provided.al2023) on both
# architectures it runs, from this binary's own source, and carried inside
# every binary, so `trigger deploy` needs no Go (and never builds from
# whatever source lies around the user's working folder).
PREBUILT=$ROOT/trigger/prebuilt
# The token function (the custom-auth trio of `storage copy` and `storage
# link`) likewise, from the same files the binary embeds as its source.
TMPREBUILT=$ROOT/tokenmint/prebuilt
trap 'rm -rf "$STAGE" "$PREBUILT"/migration-trigger-*.zip "$TMPREBUILT"/tokenmint-*.zip' EXIT
# One build of this poolmigrate builds both, at once (two builds keep two
# cores busy through their link steps).
(cd "$ROOT" && go build -o "$STAGE/poolmigrate-host" .)
pids=()
for arch in arm64 amd64; do
	(cd "$ROOT" && "$STAGE/poolmigrate-host" trigger build --out "$STAGE/trigger-$arch" --arch "$arch" >/dev/null) &
	pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
pids=()
for arch in arm64 amd64; do
	(cd "$ROOT" && go run ./cmd/tokenmint-package --arch "$arch" --out "$STAGE/tokenmint-$arch" >/dev/null) &
	pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
for arch in arm64 amd64; do
	cp "$STAGE/trigger-$arch/migration-trigger.zip" "$PREBUILT/migration-trigger-$arch.zip"
	cp "$PREBUILT/migration-trigger-$arch.zip" "$OUT/migration-trigger-$VERSION-linux-$arch.zip"
	cp "$STAGE/tokenmint-$arch/tokenmint.zip" "$TMPREBUILT/tokenmint-$arch.zip"
	cp "$TMPREBUILT/tokenmint-$arch.zip" "$OUT/tokenmint-$VERSION-linux-$arch.zip"
done

# npm platform (os-cpu) -> Go GOOS/GOARCH
TARGETS="linux-x64:linux/amd64 linux-arm64:linux/arm64 darwin-x64:darwin/amd64 darwin-arm64:darwin/arm64 win32-x64:windows/amd64"
# The binaries, two builds at a time: a build's compile steps use both
# cores, its link mostly one.
exe_of() { [ "${1%-*}" = win32 ] && echo poolmigrate.exe || echo poolmigrate; }
pids=()
for t in $TARGETS; do
	plat=${t%%:*} goos=${t#*:}
	goarch=${goos#*/} goos=${goos%/*}
	dir=$STAGE/cli-$plat
	mkdir -p "$dir/bin"
	echo "package: $plat (GOOS=$goos GOARCH=$goarch)" >&2
	[ ${#pids[@]} -lt 2 ] || { wait "${pids[0]}"; pids=("${pids[@]:1}"); }
	(cd "$ROOT" && CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch go build -tags prebuilt_trigger,prebuilt_tokenmint -trimpath -ldflags "$LDFLAGS" -o "$dir/bin/$(exe_of "$plat")" .) &
	pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
OPTIONAL="{}"
for t in $TARGETS; do
	plat=${t%%:*}
	os=${plat%-*} cpu=${plat#*-}
	dir=$STAGE/cli-$plat
	name=@poolmigrate/cli-$plat
	node -e '
		const [name, version, os, cpu, out] = process.argv.slice(1);
		const pkg = { name, version, description: "The poolmigrate binary for " + os + "-" + cpu + " (installed by amplify-poolmigrate)",
			license: "Apache-2.0", os: [os], cpu: [cpu], files: ["bin/"], preferUnplugged: true };
		require("fs").writeFileSync(out, JSON.stringify(pkg, null, 2) + "\n");
	' "$name" "$VERSION" "$os" "$cpu" "$dir/package.json"
	(cd "$dir" && npm pack --silent --pack-destination "$OUT" >/dev/null)
	OPTIONAL=$(node -e 'const o = JSON.parse(process.argv[1]); o[process.argv[2]] = process.argv[3]; console.log(JSON.stringify(o))' "$OPTIONAL" "$name" "$VERSION")
done

main=$STAGE/main
mkdir -p "$main"
cp "$ROOT/index.js" "$ROOT/bin.js" "$ROOT/amplify-plugin.json" "$ROOT/README.md" "$main/"
node -e '
	const fs = require("fs");
	const [src, out, optional] = process.argv.slice(1);
	const pkg = JSON.parse(fs.readFileSync(src, "utf8"));
	delete pkg.scripts; // nothing runs at install time
	pkg.optionalDependencies = JSON.parse(optional);
	fs.writeFileSync(out, JSON.stringify(pkg, null, 2) + "\n");
' "$ROOT/package.json" "$main/package.json" "$OPTIONAL"
(cd "$main" && npm pack --silent --pack-destination "$OUT" >/dev/null)

(cd "$OUT" && sha256sum -- *.tgz *.zip >SHA256SUMS)
echo "package: amplify-poolmigrate $VERSION ($COMMIT) in $OUT:" >&2
(cd "$OUT" && ls -1 -- *.tgz *.zip SHA256SUMS) >&2
