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
    else
        cp -n corpus/valid/*.dcf "$dir/" 2>/dev/null || true
    fi
}

# target_limits TARGET: libFuzzer options for the target.
target_limits() {
    if [ "$1" = compile_source ]; then
        echo "-rss_limit_mb=512 -timeout=10 -max_len=65536 -dict=fuzz/yaml.dict"
    elif [ "$1" = flat_json ]; then
        echo "-rss_limit_mb=512 -timeout=10 -max_len=65536 -dict=fuzz/json.dict"
    else
        echo "-rss_limit_mb=512 -timeout=10 -max_len=1048576 -dict=fuzz/dcf.dict"
    fi
}
