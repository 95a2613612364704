#!/usr/bin/env bash
# Puts goka v1.1.16 with partition-producer.patch applied in
# third_party/goka/module, which go.mod's replace points at (README.md
# here says why). It copies the module from Go's module cache, downloading
# it first if need be, and does nothing when the module there already
# carries this patch. scripts/deps.sh, and so every make target, runs it.
set -euo pipefail
cd "$(dirname "$0")"
version=v1.1.16
stamp="$version $(sha256sum partition-producer.patch | cut -d' ' -f1)"
if [ -f module/.patched ] && [ "$(cat module/.patched)" = "$stamp" ]; then
	exit 0
fi
# Outside the wallet's module, whose replace of goka is what this makes.
src=$(cd / && GOFLAGS=-mod=mod GO111MODULE=on go mod download -json "github.com/lovoo/goka@$version" |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
if [ -z "$src" ] || [ ! -d "$src" ]; then
	echo "third_party/goka: could not download github.com/lovoo/goka@$version" >&2
	exit 1
fi
rm -rf module.tmp
cp -r "$src" module.tmp
chmod -R u+w module.tmp
(cd module.tmp && patch -s -p1 <../partition-producer.patch)
echo "$stamp" >module.tmp/.patched
rm -rf module
mv module.tmp module
