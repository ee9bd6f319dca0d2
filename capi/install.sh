#!/usr/bin/env bash
# Installs the C library under PREFIX: lib/libdcf.a, lib/libdcf.so, include/dcf.h and
# lib/pkgconfig/dcf.pc, so that `pkg-config --cflags --libs dcf` finds it.
#   capi/install.sh PREFIX [LIBDIR]
# LIBDIR holds the built libraries (default target/release, as `cargo build --release -p
# dcf-capi` leaves them); `./dev capi PREFIX` builds and installs in one step.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
prefix="$1"
libdir="${2:-$here/../target/release}"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$here/../Cargo.toml" | head -1)"
mkdir -p "$prefix/lib/pkgconfig" "$prefix/include"
prefix="$(cd "$prefix" && pwd)"
# Copy to a temporary name and rename: a library in use by a running sensor is replaced, not
# overwritten in place.
for lib in libdcf.a libdcf.so; do
    cp "$libdir/$lib" "$prefix/lib/.$lib.tmp"
    mv -f "$prefix/lib/.$lib.tmp" "$prefix/lib/$lib"
done
cp "$here/include/dcf.h" "$prefix/include/dcf.h"
sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" "$here/dcf.pc.in" >"$prefix/lib/pkgconfig/dcf.pc"
echo "installed libdcf $version in $prefix (PKG_CONFIG_PATH=$prefix/lib/pkgconfig)"
