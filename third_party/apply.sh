#!/usr/bin/env bash
# Puts each dependency the wallet patches, with its patch applied, in
# third_party/<name>/module, which go.mod's replace points at (each
# directory's README.md says why). third_party/<name>/version names the
# module and its version; the patches are the directory's *.patch files.
# The module is copied from Go's module cache, downloaded first if need
# be; a module that already carries its patches is left alone.
# scripts/deps.sh, and so every make target, runs this.
set -euo pipefail
cd "$(dirname "$0")"
for dir in */; do
	dir=${dir%/}
	[ -f "$dir/version" ] || continue
	read -r path version <"$dir/version"
	stamp="$path@$version $(cat "$dir"/*.patch | sha256sum | cut -d' ' -f1)"
	if [ -f "$dir/module/.patched" ] && [ "$(cat "$dir/module/.patched")" = "$stamp" ]; then
		continue
	fi
	# Outside the wallet's module, whose replace this makes.
	src=$(cd / && GOFLAGS=-mod=mod GO111MODULE=on go mod download -json "$path@$version" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	if [ -z "$src" ] || [ ! -d "$src" ]; then
		echo "third_party/$dir: could not download $path@$version" >&2
		exit 1
	fi
	rm -rf "$dir/module.tmp"
	cp -r "$src" "$dir/module.tmp"
	chmod -R u+w "$dir/module.tmp"
	for patch in "$dir"/*.patch; do
		(cd "$dir/module.tmp" && patch -s -p1 <"../$(basename "$patch")")
	done
	echo "$stamp" >"$dir/module.tmp/.patched"
	rm -rf "$dir/module"
	mv "$dir/module.tmp" "$dir/module"
done
