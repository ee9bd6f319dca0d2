#!/bin/bash -eu
# ClusterFuzzLite / OSS-Fuzz build: the same targets, dictionary and seeds as fuzz/smoke.sh.
# The only copy of the build: .clusterfuzzlite/build.sh execs this script.
cd "$SRC/dcf"
source fuzz/seeds.sh
cargo fuzz build --fuzz-dir fuzz --features fuzzing -O --debug-assertions
for target in $(cargo fuzz list --fuzz-dir fuzz); do
    cp "target/x86_64-unknown-linux-gnu/release/$target" "$OUT/$target"
    limits=$(target_limits "$target")
    dict=$(echo "$limits" | sed 's/.*-dict=\([^ ]*\).*/\1/')
    max_len=$(echo "$limits" | sed 's/.*-max_len=\([0-9]*\).*/\1/')
    cp "$dict" "$OUT/$target.dict"
    printf '[libfuzzer]\nmax_len = %s\nrss_limit_mb = 512\ntimeout = 10\n' "$max_len" > "$OUT/$target.options"
    seeds=$(mktemp -d)
    seed_corpus "$target" "$seeds"
    zip -j "$OUT/${target}_seed_corpus.zip" "$seeds"/*
done
