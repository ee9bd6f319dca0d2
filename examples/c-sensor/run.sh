#!/usr/bin/env bash
# Builds the example C sensor against an installed libdcf (found with pkg-config) and runs it
# on the bundled example: a signed update in the watched directory, the example events on
# standard input, and a corrupted copy of the update beside it (offered second, in name
# order), which the sensor refuses while the good one stays active and keeps matching. Then
# it restarts the sensor on its content store: the content runs again at once, and the same
# update offered again is refused as a rollback. `./dev test` runs this
# and compares the output with expected.txt; `./dev run` shows it.
#   examples/c-sensor/run.sh OUT_DIR [--check]
# DCF_BIN and DCF_LIB_DIR name a dcf binary and a directory with libdcf.a and libdcf.so that
# are already built: `./dev test` passes those its `cargo test --all-features` just made, since
# a `cargo build` with the default features would rebuild half the workspace (three minutes
# of CI) to get the same library.
set -euo pipefail
cd "$(dirname "$0")/../.."
out="$1"
target="${CARGO_TARGET_DIR:-target}"
if [ -z "${DCF_BIN:-}" ] || [ -z "${DCF_LIB_DIR:-}" ]; then
    cargo build -q -p dcf-cli --bin dcf
    cargo build -q -p dcf-capi --lib
fi
dcf="${DCF_BIN:-$target/debug/dcf}"
rm -rf "$out" && mkdir -p "$out/updates"
bash capi/install.sh "$out/prefix" "${DCF_LIB_DIR:-$target/debug}" >/dev/null
export PKG_CONFIG_PATH="$out/prefix/lib/pkgconfig"
cc -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -o "$out/dcf_sensor" examples/c-sensor/dcf_sensor.c \
    $(pkg-config --cflags --libs dcf) -Wl,-rpath,"$(pkg-config --variable=libdir dcf)"

"$dcf" compile examples/rules --manifest examples/manifests -o "$out/content.dcf" >/dev/null
"$dcf" keygen --out "$out/release" >/dev/null
"$dcf" sign "$out/content.dcf" --key "$out/release.secret" --manifest examples/manifests \
    -o "$out/updates/content.dcf" >/dev/null
# The same update with one byte of its body flipped: its digest no longer holds.
python3 - "$out/updates/content.dcf" "$out/corrupted.dcf" <<'PY'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
data[200] ^= 0x20
open(sys.argv[2], "wb").write(data)
PY

cp "$out/corrupted.dcf" "$out/updates/z-corrupted.dcf"
sensor=("$out/dcf_sensor" examples/manifests/sensor-7.12.toml "$out/release.pub" "$out/updates" 291 "$out/store")
"${sensor[@]}" <examples/events.jsonl | tee "$out/output.txt"
# A restart: the store runs the content again before any update arrives, and the same update
# offered again is a rollback.
echo "--- restart" | tee -a "$out/output.txt"
head -n 3 examples/events.jsonl | "${sensor[@]}" | tee -a "$out/output.txt"

if [ "${2:-}" = "--check" ]; then
    diff -u examples/c-sensor/expected.txt "$out/output.txt"
    echo "example C sensor: output as expected"
fi
