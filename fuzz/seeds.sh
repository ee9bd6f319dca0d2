# Sourced by smoke.sh, campaign.sh and the OSS-Fuzz build: which seeds, dictionary and input
# size each target gets. Binary targets start from the valid corpus and use dcf.dict;
# compile_source starts from YAML rules (the examples and, when present, a sample of SigmaHQ's
# rules beside the repository) and uses yaml.dict; flat_json starts from the example event
# lines, one per file, and uses json.dict.

# seed_corpus TARGET DIR: copies the target's seeds into DIR (existing files are kept).
seed_corpus() {
    local target="$1" dir="$2"
    mkdir -p "$dir"
    if [ "$target" = compile_source ]; then
        cp -n examples/rules/*.yaml examples/broken/*.yaml "$dir/" 2>/dev/null || true
        if [ -d ../shared/sigma/rules ]; then
            find ../shared/sigma/rules -name '*.yml' | sort | awk 'NR % 10 == 0' |
                while read -r f; do cp -n "$f" "$dir/" 2>/dev/null || true; done
        fi
    elif [ "$target" = flat_json ]; then
        grep -hv '^#' examples/events.jsonl examples/benign.jsonl |
            split -l 1 -a 4 - "$dir/line-"
    elif [ "${FUZZ_LARGE:-0}" = 1 ]; then
        cp -n corpus/valid/*.dcf "$dir/" 2>/dev/null || true
    else
        # The default campaign: seeds that fit its -max_len (a longer one would be truncated
        # into noise); the large-input campaign (FUZZ_LARGE=1) also gets limits.dcf.
        find corpus/valid -name '*.dcf' -size -4097c -exec cp -n {} "$dir/" \; 2>/dev/null || true
    fi
}

# corpus_dir TARGET: where a campaign keeps the target's corpus (the large-input campaign
# keeps its own, so its large units do not slow the default one).
corpus_dir() {
    if [ "${FUZZ_LARGE:-0}" = 1 ]; then echo "fuzz/corpus/$1.large"; else echo "fuzz/corpus/$1"; fi
}

# AddressSanitizer: a 64 MiB quarantine (default 256 MiB) still holds the frees of thousands
# of executions of inputs this small, and keeps peak RSS under 256 MB.
export ASAN_OPTIONS="${ASAN_OPTIONS:-quarantine_size_mb=64}"

# target_limits TARGET: libFuzzer options for the target. A custom mutator disables
# -len_control, so -max_len is the size every mutation may reach: the default campaign keeps it
# small (4 KiB covers every seed but limits.dcf; 16 KiB for YAML rules, 99% of SigmaHQ's), and
# the large-input campaign (FUZZ_LARGE=1) raises it to 1 MiB to reach the format's limits.
target_limits() {
    local large="${FUZZ_LARGE:-0}"
    if [ "$1" = compile_source ]; then
        echo "-rss_limit_mb=512 -timeout=10 -max_len=$([ "$large" = 1 ] && echo 65536 || echo 16384) -dict=fuzz/yaml.dict"
    elif [ "$1" = flat_json ]; then
        echo "-rss_limit_mb=512 -timeout=10 -max_len=$([ "$large" = 1 ] && echo 65536 || echo 4096) -dict=fuzz/json.dict"
    else
        echo "-rss_limit_mb=512 -timeout=10 -max_len=$([ "$large" = 1 ] && echo 1048576 || echo 4096) -dict=fuzz/dcf.dict"
    fi
}
