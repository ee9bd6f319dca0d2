#!/bin/bash -eu
# ClusterFuzzLite / OSS-Fuzz build: the same targets, dictionary and seeds as fuzz/smoke.sh.
cd "$SRC/dcf"
cargo fuzz build --fuzz-dir fuzz --features fuzzing -O --debug-assertions
for target in $(cargo fuzz list --fuzz-dir fuzz); do
    cp "target/x86_64-unknown-linux-gnu/release/$target" "$OUT/$target"
    cp fuzz/dcf.dict "$OUT/$target.dict"
    printf '[libfuzzer]\nmax_len = 1048576\nrss_limit_mb = 512\ntimeout = 10\n' > "$OUT/$target.options"
    zip -j "$OUT/${target}_seed_corpus.zip" corpus/valid/*.dcf
done
