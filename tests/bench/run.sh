#!/bin/sh
# make bench: for each workload (toy2d, cnn, unet; WORKLOADS="cnn" picks some), our bench on 1 and 2
# threads, PyTorch's on 1 and 2 threads beside it (where a python3 with torch is installed), then the
# ratios against PyTorch's best. Extra arguments go to both programs of every workload
# (e.g. --blocks 9). See docs/performance.md.
set -u
bench="$1"
shift
workloads="${WORKLOADS:-toy2d cnn unet}"

# Debian's torch lives in the system python; a python3 earlier on PATH (pyenv) may not have it.
py=""
for candidate in python3 /usr/bin/python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import torch' >/dev/null 2>&1; then
        py="$candidate"
        break
    fi
done
dir=$(dirname "$0")
[ -f "$dir/toy2d_torch.py" ] || py=""  # the student tree has no PyTorch twins

# value KEY LINE
value() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
best() { printf '%s\n%s\n' "$1" "$2" | awk 'NR == 1 || $1 + 0 > m { m = $1 + 0 } END { print m }'; }
least() { printf '%s\n%s\n' "$1" "$2" | awk 'NR == 1 || $1 + 0 < m { m = $1 + 0 } END { print m }'; }

for w in $workloads; do
    case "$w" in
        toy2d) keys="train_steps_per_s sample_point_steps_per_s"; torch_cmd="$dir/toy2d_torch.py bench" ;;
        cnn | unet) keys="train_images_per_s sample_image_steps_per_s"; torch_cmd="$dir/images_torch.py bench $w" ;;
        *) echo "bench: unknown workload $w (toy2d, cnn, unet)"; exit 2 ;;
    esac
    ours1=$("$bench" --workload "$w" --threads 1 "$@") || exit 1
    echo "$ours1"
    ours2=$("$bench" --workload "$w" --threads 2 "$@") || exit 1
    echo "$ours2"
    if [ -z "$py" ]; then
        echo "bench: no python3 with torch (Debian: apt-get install python3-torch libopenblas0-pthread); ratios skipped"
        continue
    fi
    torch1=$("$py" $torch_cmd --threads 1 "$@") || exit 1
    echo "$torch1"
    torch2=$("$py" $torch_cmd --threads 2 "$@") || exit 1
    echo "$torch2"
    for key in $keys; do
        o=$(best "$(value $key "$ours1")" "$(value $key "$ours2")")
        t=$(best "$(value $key "$torch1")" "$(value $key "$torch2")")
        awk -v w="$w" -v k="$key" -v o="$o" -v t="$t" \
            'BEGIN { printf "ratio %s %s: ours best %.4g / torch best %.4g = %.2fx\n", w, k, o, t, o / t }'
    done
    # memory: our larger peak against PyTorch's smaller one
    o=$(best "$(value peak_rss_mb "$ours1")" "$(value peak_rss_mb "$ours2")")
    t=$(least "$(value peak_rss_mb "$torch1")" "$(value peak_rss_mb "$torch2")")
    awk -v w="$w" -v o="$o" -v t="$t" 'BEGIN { printf "ratio %s peak_rss_mb: torch %.1f / ours %.1f = %.1fx smaller\n", w, t, o, t / o }'
done
