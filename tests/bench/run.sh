#!/bin/sh
# make bench: our bench on 1 and 2 threads, PyTorch's on 1 and 2 threads beside it (where a python3
# with torch is installed), then the ratios against PyTorch's best. Extra arguments go to both
# programs (e.g. --blocks 9). See docs/performance.md.
set -u
bench="$1"
shift

ours1=$("$bench" --threads 1 "$@") || exit 1
echo "$ours1"
ours2=$("$bench" --threads 2 "$@") || exit 1
echo "$ours2"

# Debian's torch lives in the system python; a python3 earlier on PATH (pyenv) may not have it.
py=""
for candidate in python3 /usr/bin/python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import torch' >/dev/null 2>&1; then
        py="$candidate"
        break
    fi
done
if [ -z "$py" ]; then
    echo "bench: no python3 with torch (Debian: apt-get install python3-torch libopenblas0-pthread); ratios skipped"
    exit 0
fi

dir=$(dirname "$0")
torch1=$("$py" "$dir/toy2d_torch.py" bench --threads 1 "$@") || exit 1
echo "$torch1"
torch2=$("$py" "$dir/toy2d_torch.py" bench --threads 2 "$@") || exit 1
echo "$torch2"

# value KEY LINE
value() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
best() { printf '%s\n%s\n' "$1" "$2" | awk 'NR == 1 || $1 + 0 > m { m = $1 + 0 } END { print m }'; }
least() { printf '%s\n%s\n' "$1" "$2" | awk 'NR == 1 || $1 + 0 < m { m = $1 + 0 } END { print m }'; }

for key in train_steps_per_s sample_point_steps_per_s; do
    o=$(best "$(value $key "$ours1")" "$(value $key "$ours2")")
    t=$(best "$(value $key "$torch1")" "$(value $key "$torch2")")
    awk -v k="$key" -v o="$o" -v t="$t" 'BEGIN { printf "ratio %s: ours best %.4g / torch best %.4g = %.2fx\n", k, o, t, o / t }'
done
# memory: our larger peak against PyTorch's smaller one
o=$(best "$(value peak_rss_mb "$ours1")" "$(value peak_rss_mb "$ours2")")
t=$(least "$(value peak_rss_mb "$torch1")" "$(value peak_rss_mb "$torch2")")
awk -v o="$o" -v t="$t" 'BEGIN { printf "ratio peak_rss_mb: torch %.1f / ours %.1f = %.1fx smaller\n", t, o, t / o }'
