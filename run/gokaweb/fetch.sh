#!/usr/bin/env bash
# Fetches the libraries that goka's pages load (README.md says which and
# why) from the npm registry into this directory, checks each tarball
# against its integrity, and extracts the files that run/goka.go embeds.
# Other projects' code is not committed: scripts/deps.sh runs this before
# every build, as third_party/apply.sh materialises the patched modules.
# A library already extracted is not fetched again.
set -euo pipefail
cd "$(dirname "$0")"

# directory, package, tarball integrity, then "file-in-package:name-here"...
libs=(
	"jquery-3.7.1 jquery@3.7.1 sha512-m4avr8yL8kmFN8psrbFFFmB/If14iN5o9nw/NgnnM+kybDJpRsAynV2BsfpTYrTRysYUdADVD7CkUUizgkpLfg== dist/jquery.min.js:jquery.min.js LICENSE.txt:LICENSE.txt"
	"bootstrap-3.4.1 bootstrap@3.4.1 sha512-yN5oZVmRCwe5aKwzRj6736nSmKDX7pLYwsXiCj/EYmo16hODaBiT4En5btW/jhBF/seV+XMx3aYwukYC3A49DA== dist/css/bootstrap.min.css:css/bootstrap.min.css dist/css/bootstrap-theme.min.css:css/bootstrap-theme.min.css dist/js/bootstrap.min.js:js/bootstrap.min.js LICENSE:LICENSE"
	"lodash-4.18.1 lodash@4.18.1 sha512-dMInicTPVE8d1e5otfwmmjlxkZoUpiVLwyeTdUsi/Caj/gfzzblBcCE5sRHV/AsjuCmxWrte2TNGSYuCeCq+0Q== lodash.min.js:lodash.min.js LICENSE:LICENSE"
	"d3-4.13.0 d3@4.13.0 sha512-l8c4+0SldjVKLaE2WG++EQlqD7mh/dmQjvi2L2lKPadAVC+TbJC4ci7Uk9bRi+To0+ansgsS0iWfPjD7DBy+FQ== build/d3.min.js:d3.min.js LICENSE:LICENSE"
	"d3-4.13.0 d3-geo@1.9.1 sha512-l9wL/cEQkyZQYXw3xbmLsH3eQ5ij+icNfo4r0GrLa5rOCZR/e/3am45IQ0FvQ5uMsv+77zBRunLc9ufTWSQYFA== LICENSE:LICENSE.d3-geo"
	"d3-4.13.0 d3-voronoi@1.1.2 sha512-RhGS1u2vavcO7ay7ZNAPo4xeDh/VYeGof3x5ZLJBQgYhLegxr3s5IykvWmJ94FTU6mcbtp4sloqZ54mP6R4Utw== LICENSE:LICENSE.d3-voronoi"
)

tmp=""
trap '[ -z "$tmp" ] || rm -rf "$tmp"' EXIT
for lib in "${libs[@]}"; do
	read -r dir pkg integrity files <<<"$lib"
	# Done when every file of this package is in place.
	done=1
	for f in $files; do
		[ -f "$dir/${f#*:}" ] || done=0
	done
	[ "$done" = 1 ] && continue
	command -v npm >/dev/null || { echo "gokaweb: npm is needed to fetch $pkg (goka's pages' scripts)" >&2; exit 1; }
	[ -n "$tmp" ] || tmp=$(mktemp -d)
	tarball=$(cd "$tmp" && npm pack --silent "$pkg" 2>/dev/null | tail -1)
	got="sha512-$(openssl dgst -sha512 -binary "$tmp/$tarball" | base64 -w0)"
	if [ "$got" != "$integrity" ]; then
		echo "gokaweb: $pkg's tarball has integrity $got, want $integrity" >&2
		exit 1
	fi
	for f in $files; do
		from=${f%%:*} to=${f#*:}
		mkdir -p "$(dirname "$dir/$to")"
		tar -xzOf "$tmp/$tarball" "package/$from" >"$dir/$to.tmp"
		mv "$dir/$to.tmp" "$dir/$to"
	done
done
