#!/usr/bin/env bash
# Installs what building the wallet needs beyond Go: RocksDB's C library and
# headers (grocksdb links against them through cgo), and the dependencies
# the wallet patches (third_party: goka and kfake; patch(1) applies them),
# and the scripts of goka's pages (run/gokaweb/fetch.sh, from the npm
# registry). With an argument, also
# the named extra Debian packages (make test-kafka asks for kcat). The
# target chromium (make test: the browser that run/page_test.go drives)
# counts as present when any Chromium or Chrome is on the PATH; the target
# prometheus (make test: its promtool checks docker/prometheus, in
# run/monitoring_test.go) when promtool is, and the services it starts on
# install (the server and its recommended node exporter) are stopped and
# disabled: only promtool is wanted.
# Only Debian and Ubuntu are automated; elsewhere it says what to install.
set -euo pipefail

missing=()
if [ ! -f /usr/include/rocksdb/c.h ] && [ ! -f /usr/local/include/rocksdb/c.h ]; then
	missing+=(librocksdb-dev)
fi
for pkg in "$@"; do
	if [ "$pkg" = chromium ]; then
		for b in chromium chromium-browser google-chrome google-chrome-stable; do
			command -v "$b" >/dev/null && continue 2
		done
	fi
	if [ "$pkg" = prometheus ]; then
		command -v promtool >/dev/null || missing+=(prometheus)
		continue
	fi
	dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
command -v gcc >/dev/null || missing+=(gcc)
command -v patch >/dev/null || missing+=(patch)
if [ ${#missing[@]} -eq 0 ]; then
	"$(dirname "$0")/../third_party/apply.sh"
	exec "$(dirname "$0")/../run/gokaweb/fetch.sh"
fi

if ! command -v apt-get >/dev/null; then
	echo "deps: install RocksDB 7.x with its headers (macOS: brew install rocksdb; Fedora: dnf install rocksdb-devel) and: ${missing[*]}" >&2
	exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "deps: installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
if [[ " ${missing[*]} " == *" prometheus "* ]]; then
	for svc in prometheus prometheus-node-exporter; do
		if [ -d /run/systemd/system ]; then
			$sudo systemctl disable --now "$svc" >/dev/null 2>&1 || true
		elif [ -x "/etc/init.d/$svc" ]; then
			$sudo "/etc/init.d/$svc" stop >/dev/null 2>&1 || true
		fi
	done
fi
"$(dirname "$0")/../third_party/apply.sh"
"$(dirname "$0")/../run/gokaweb/fetch.sh"
