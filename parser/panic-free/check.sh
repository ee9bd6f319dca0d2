#!/usr/bin/env bash
# Proves at link time that dcf-parser's entry points contain no reachable panic (see src/main.rs).
set -euo pipefail
cd "$(dirname "$0")"
rustup target add x86_64-unknown-none >/dev/null
# Its own build: release with fat LTO (so calls into nom and sha2 inline and their guards are
# visible), abort on panic, one codegen unit, and the portable SHA-256 backend the no-SSE
# target needs.
build() {
    CARGO_PROFILE_RELEASE_LTO=fat CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-../../target}/panic-free" \
    RUSTFLAGS='--cfg sha2_backend="soft" -C panic=abort -C codegen-units=1 -C opt-level=3' \
        cargo build -q --release --target x86_64-unknown-none --manifest-path Cargo.toml "$@"
}
# The check must be able to fail: with a deliberate out-of-bounds index, the link must break.
if build --features self-test 2>/dev/null; then
    echo "panic-free: the self-test linked although it contains a panic: the check proves nothing" >&2
    exit 1
fi
build
echo "panic-free: parse, Frame::read/verify_digest/parse_body, view iteration and layout::walk link without any panic path (self-test: an injected panic fails the link)"
