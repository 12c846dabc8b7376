#!/usr/bin/env bash
# testbed/npm-cached.sh DIR NAME: installs DIR's package-lock.json (npm ci)
# once into a cache outside the clone (~/.cache/poolmigrate/NAME-<hash of
# the lock file>, or under POOLMIGRATE_CACHE), points DIR/node_modules at
# it and prints the cache folder. A fresh clone, or a branch with the same
# lock file, reuses what an earlier run installed; a changed lock file
# installs afresh beside it.
set -euo pipefail
src=$(cd "$1" && pwd)
name=$2
hash=$(sha256sum "$src/package-lock.json" | cut -c1-16)
root=${POOLMIGRATE_CACHE:-$HOME/.cache/poolmigrate}
cache=$root/$name-$hash
if [ ! -f "$cache/.installed" ]; then
	command -v npm >/dev/null || { echo "npm-cached: npm is needed to install $name" >&2; exit 1; }
	echo "npm-cached: installing $name from $src/package-lock.json into $cache (once)" >&2
	mkdir -p "$root"
	tmp=$(mktemp -d "$cache.tmp.XXXXXX")
	cp "$src/package.json" "$src/package-lock.json" "$tmp/"
	(cd "$tmp" && npm ci --no-audit --no-fund --loglevel=error >&2)
	touch "$tmp/.installed"
	# Another run may have finished first: keep its copy.
	mv -T "$tmp" "$cache" 2>/dev/null || rm -rf "$tmp"
fi
if [ "$(readlink "$src/node_modules" 2>/dev/null)" != "$cache/node_modules" ]; then
	rm -rf "$src/node_modules"
	ln -s "$cache/node_modules" "$src/node_modules"
fi
echo "$cache"
