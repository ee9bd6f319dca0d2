#!/usr/bin/env bash
# Coverage of a target's corpus as a summary and an HTML report for a person to read:
#   fuzz/coverage.sh TARGET [CORPUS]        -> fuzz/coverage/TARGET/html/index.html
set -euo pipefail
cd "$(dirname "$0")/.."
target="$1"
corpus="${2:-fuzz/corpus/$target}"
rustup component add llvm-tools-preview --toolchain nightly >/dev/null 2>&1 || true
cargo +nightly fuzz coverage --fuzz-dir fuzz --features fuzzing "$target" "$corpus"
profdata="fuzz/coverage/$target/coverage.profdata"
bin=$(find target -path "*coverage*/release/$target" -type f | head -n 1)
llvm_cov=$(find "$(rustc +nightly --print sysroot)" -name llvm-cov -type f | head -n 1)
ignore='/.cargo/|rustc|/rustlib/'
"$llvm_cov" report "$bin" -instr-profile="$profdata" --ignore-filename-regex="$ignore" | tail -n 3
"$llvm_cov" show "$bin" -instr-profile="$profdata" --ignore-filename-regex="$ignore" \
    -format=html -output-dir="fuzz/coverage/$target/html" -show-line-counts-or-regions
echo "fuzz/coverage/$target/html/index.html"
