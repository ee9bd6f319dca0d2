#!/usr/bin/env bash
# CI smoke run: build every fuzz target with cargo-fuzz (nightly, sanitizers, coverage) and run
# each for a bounded time with the project's resource limits. Any crash, timeout, leak or
# out-of-memory is a failure; the reproducer is kept in fuzz/artifacts/<target>/.
#   fuzz/smoke.sh [seconds-per-target]     (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# Per-target seeds, dictionary and input cap (binary targets: 1 MiB reaches every check).
source fuzz/seeds.sh
targets=$(cargo +nightly fuzz list --fuzz-dir fuzz)
cargo +nightly fuzz build --fuzz-dir fuzz --features fuzzing
for target in $targets; do
    corpus="fuzz/corpus/$target"
    seed_corpus "$target" "$corpus"
    read -r -a limits <<< "$(target_limits "$target") -print_final_stats=1"
    echo "== fuzz $target for ${seconds}s"
    cargo +nightly fuzz run --fuzz-dir fuzz --features fuzzing "$target" "$corpus" -- \
        "${limits[@]}" -max_total_time="$seconds" 2>&1 | tail -n 12
done
echo "fuzz smoke: all targets ran ${seconds}s with no finding"
