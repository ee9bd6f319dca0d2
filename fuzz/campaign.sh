#!/usr/bin/env bash
# A long campaign on one machine: every target, forked across the cores, then corpus merge and
# minimisation, then a coverage report per target (text summary and HTML).
#   fuzz/campaign.sh [seconds-per-target] [jobs] [target...]   (default 3600 s, all cores)
#   FUZZ_LARGE=1 fuzz/campaign.sh ...     the large-input campaign: -max_len=1 MiB, limits.dcf
# Every run appends one line per target to fuzz/corpus/campaign.tsv, the cumulative record:
# date, commit, target, campaign, seconds, jobs, executions, cov, ft, findings; the totals per
# target follow each run. Findings land in fuzz/artifacts/<target>/; minimise one with
#   cargo +nightly fuzz tmin --fuzz-dir fuzz --features fuzzing <target> <artifact>
# and commit the result under corpus/regressions/<target>/, where a test replays it forever.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-3600}"
jobs="${2:-$(nproc)}"
shift 2 2>/dev/null || shift $#
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
rustup component add llvm-tools-preview --toolchain nightly
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
source fuzz/seeds.sh
record=fuzz/corpus/campaign.tsv
mkdir -p fuzz/corpus
[ -f "$record" ] || printf 'date\tcommit\ttarget\tcampaign\tseconds\tjobs\texecutions\tcov\tft\tfindings\n' > "$record"
campaign=$([ "${FUZZ_LARGE:-0}" = 1 ] && echo large || echo default)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
cargo +nightly fuzz build --fuzz-dir fuzz --features fuzzing
targets=("$@")
[ ${#targets[@]} -gt 0 ] || read -r -a targets <<< "$(cargo +nightly fuzz list --fuzz-dir fuzz | tr '\n' ' ')"
for target in "${targets[@]}"; do
    corpus=$(corpus_dir "$target")
    seed_corpus "$target" "$corpus"
    read -r -a limits <<< "$(target_limits "$target") -print_final_stats=1"
    # The directory exists from here on: with pipefail, `ls` of a missing one would end the run.
    mkdir -p "fuzz/artifacts/$target"
    before=$(ls "fuzz/artifacts/$target" | wc -l)
    log=$(mktemp)
    echo "== $target ($campaign): ${seconds}s on $jobs jobs"
    if [ "$jobs" = 1 ]; then fork=(); else fork=(-fork="$jobs" -ignore_crashes=1); fi
    cargo +nightly fuzz run --fuzz-dir fuzz --features fuzzing "$target" "$corpus" -- \
        "${limits[@]}" "${fork[@]}" -max_total_time="$seconds" 2>&1 | tee "$log" | tail -n 12 || true
    # Executions: the final stats of a single process; with -fork, the last status line.
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    [ -n "$execs" ] || execs=$(grep -E '^#[0-9]+' "$log" | tail -n 1 | sed 's/^#\([0-9]*\).*/\1/')
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
    cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
    findings=$(( $(ls "fuzz/artifacts/$target" | wc -l) - before ))
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$commit" "$target" \
        "$campaign" "$seconds" "$jobs" "${execs:-0}" "${cov:-0}" "${ft:-0}" "$findings" >> "$record"
    rm -f "$log"
    echo "== $target: merge and minimise the corpus"
    cargo +nightly fuzz cmin --fuzz-dir fuzz --features fuzzing "$target" "$corpus" -- "${limits[@]}" || true
    if [ "${FUZZ_COVERAGE:-1}" = 1 ]; then
        echo "== $target: coverage (fuzz/coverage/$target/html/index.html)"
        fuzz/coverage.sh "$target" "$corpus" || true
    fi
done
echo "== cumulative record ($record): executions and findings per target"
awk -F'\t' 'NR > 1 { e[$3] += $7; f[$3] += $10; n[$3]++; t += $7 }
    END { for (k in e) printf "%-16s %14d executions %4d runs %3d findings\n", k, e[k], n[k], f[k];
          printf "%-16s %14d executions\n", "all", t }' "$record"
[ -n "$(find fuzz/artifacts -type f 2>/dev/null)" ] && ls fuzz/artifacts/*/ && echo "findings above: minimise them into corpus/regressions/" || echo "no findings"
