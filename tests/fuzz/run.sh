#!/usr/bin/env bash
# Runs every fuzz target of tests/fuzz/ for a bounded time (`make fuzz` calls it).
#
#   tests/fuzz/run.sh DIR SECONDS
#
# DIR holds the targets (fuzz_csv, fuzz_checkpoint, fuzz_idx, fuzz_png: every fuzz_* program there), their seeds (DIR/seeds_<target>/, made by make),
# the corpus each run grows (DIR/corpus_<target>/, kept between runs), logs, and any finding
# (DIR/findings/<target>-crash-..., the input that failed: run `DIR/fuzz_<target> FILE` to see it).
# The seeds also include tests/fuzz/corpus_<target>/. Prints one line per target with its
# executions; exits 1 when a target found something.
set -u
dir=$1
seconds=$2
here=$(dirname "$0")
status=0
mkdir -p "$dir/findings"
for target in $(cd "$dir" && ls fuzz_* 2>/dev/null | grep -v "\.log$" | sed "s/^fuzz_//"); do
    corpus="$dir/corpus_$target"
    mkdir -p "$corpus"
    seeds=()
    for d in "$dir/seeds_$target" "$here/corpus_$target"; do [ -d "$d" ] && seeds+=("$d"); done
    log="$dir/fuzz_$target.log"
    # The PNG reader inflates into a buffer of what the header needs (issue 33.1): no one allocation of
    # an input may pass 64 MB (2^20 pixels of 16-bit RGBA are 8 MB).
    limits=()
    [ "$target" = png ] && limits=(-malloc_limit_mb=64)
    "$dir/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 "${limits[@]}" -print_final_stats=1 \
        -artifact_prefix="$dir/findings/$target-" "$corpus" "${seeds[@]}" > "$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    inputs=$(find "$corpus" -type f | wc -l)
    if [ "$rc" = 0 ]; then
        echo "fuzz_$target: ${execs:-?} executions in ${seconds} s, corpus of $inputs inputs, no findings"
    else
        status=1
        echo "fuzz_$target: FINDING after ${execs:-?} executions (exit $rc); the input is in $dir/findings/, the report in $log:"
        grep -m 3 -E "ERROR|runtime error|deadly signal|Timeout|out-of-memory|uncaught" "$log" | sed 's/^/    /'
    fi
done
exit $status
