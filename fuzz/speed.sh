#!/usr/bin/env bash
# Speed measurement: one target at a time, on one core, from the committed seeds only (a fresh
# corpus each run), AddressSanitizer on (the cargo-fuzz build), the target's limits from
# fuzz/seeds.sh. Prints one line per run and the median, with the load beside each figure.
#   fuzz/speed.sh [seconds] [runs] [target...]     (default 60 s, 3 runs, every target)
# Needs `cargo +nightly fuzz build --fuzz-dir fuzz --features fuzzing` first.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
runs="${2:-3}"
shift 2 2>/dev/null || shift $#
source fuzz/seeds.sh
core="${FUZZ_CORE:-1}"
bin_dir="target/x86_64-unknown-linux-gnu/release"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || read -r -a targets <<< "$(cargo +nightly fuzz list --fuzz-dir fuzz | tr '\n' ' ')"
for target in "${targets[@]}"; do
    rates=()
    for run in $(seq "$runs"); do
        corpus=$(mktemp -d)
        seed_corpus "$target" "$corpus"
        read -r -a limits <<< "$(target_limits "$target")"
        load=$(cut -d' ' -f1 /proc/loadavg)
        log=$(mktemp)
        env ${ASAN_OPTIONS:+ASAN_OPTIONS="$ASAN_OPTIONS"} taskset -c "$core" "$bin_dir/$target" "$corpus" \
            "${limits[@]}" -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1 || {
            tail -n 30 "$log"; echo "== $target: finding (log $log)"; exit 1; }
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log")
        last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
        cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
        ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
        rate=$((execs / seconds))
        rates+=("$rate")
        echo "$target run $run: ${seconds}s execs=$execs exec/s=$rate peak_rss_mb=$rss cov=$cov ft=$ft load_at_start=$load load_at_end=$(cut -d' ' -f1 /proc/loadavg)"
        rm -rf "$corpus" "$log"
    done
    median=$(printf '%s\n' "${rates[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    echo "$target median exec/s: $median"
done
