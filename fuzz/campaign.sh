#!/usr/bin/env bash
# A long campaign on one machine: every target, forked across the cores, then corpus merge and
# minimisation, then a coverage report per target.
#   fuzz/campaign.sh [seconds-per-target] [jobs]     (default 3600 s, all cores)
# Findings land in fuzz/artifacts/<target>/; minimise one with
#   cargo +nightly fuzz tmin --fuzz-dir fuzz --features fuzzing <target> <artifact>
# and commit the result under corpus/regressions/<target>/, where a test replays it forever.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-3600}"
jobs="${2:-$(nproc)}"
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
rustup component add llvm-tools-preview --toolchain nightly
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
source fuzz/seeds.sh
cargo +nightly fuzz build --fuzz-dir fuzz --features fuzzing
for target in $(cargo +nightly fuzz list --fuzz-dir fuzz); do
    corpus="fuzz/corpus/$target"
    seed_corpus "$target" "$corpus"
    read -r -a limits <<< "$(target_limits "$target") -print_final_stats=1"
    echo "== $target: ${seconds}s on $jobs jobs"
    cargo +nightly fuzz run --fuzz-dir fuzz --features fuzzing "$target" "$corpus" -- \
        "${limits[@]}" -fork="$jobs" -ignore_crashes=1 -max_total_time="$seconds" || true
    echo "== $target: merge and minimise the corpus"
    cargo +nightly fuzz cmin --fuzz-dir fuzz --features fuzzing "$target" "$corpus"
    echo "== $target: coverage"
    cargo +nightly fuzz coverage --fuzz-dir fuzz --features fuzzing "$target" "$corpus"
    profdata="fuzz/coverage/$target/coverage.profdata"
    bin=$(find target -path "*coverage*/release/$target" -type f | head -n 1)
    llvm_cov=$(find "$(rustc +nightly --print sysroot)" -name llvm-cov -type f | head -n 1)
    if [ -n "$bin" ] && [ -n "$llvm_cov" ]; then
        "$llvm_cov" report "$bin" -instr-profile="$profdata" --ignore-filename-regex='/.cargo/|rustc' \
            | tail -n 3
    fi
done
ls fuzz/artifacts/*/ 2>/dev/null && echo "findings above: minimise them into corpus/regressions/" || echo "no findings"
