#!/usr/bin/env bash
# make portable-check: the arithmetic rule of docs/reproducibility.md, tested. The same sources are
# built three more ways beside the native build, and what they print is compared byte for byte:
#
#   x86-64  -march=x86-64 (SSE2 only, no AVX, no FMA instruction: every fused multiply-add is the C
#           library's fmaf, a call per product): make test but the cases of LEFT_OUT below, lessons
#           00-02 (quick) against lessons/*/expected/ (written by the native build), and the tool run
#   aarch64 cross-compiled (g++-aarch64-linux-gnu, static) and run under qemu-aarch64 (qemu-user):
#           make test but the cases about processes, files and text rather than arithmetic (see
#           LEFT_OUT below: under emulation, where every vector operation is a call into
#           qemu's soft float, their tool runs took most of CI's time), lessons 00-02 against
#           expected/, and a short training and sampling run of the ddpm tool against the same run
#           of the native build (model file and samples)
#   clang   clang++: make test, lessons 00-02 against expected/, and the same tool run
#
# Usage: tests/portable/run.sh [x86-64] [aarch64] [clang]   (default: all three). Needs, from
# Debian: g++-aarch64-linux-gnu qemu-user clang. Prints one line per comparison and per build, and
# ends with "portable: N passed, M failed"; exits non-zero on any failure.
set -u
cd "$(dirname "$0")/../.."

jobs=$(nproc 2>/dev/null || echo 2)
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "portable: $1: ok"; }
bad() { failed=$((failed + 1)); echo "portable: $1: FAILED"; }
flags="-fno-trapping-math -fno-math-errno"

# same_tables NAME OUTROOT LESSON...: every expected TSV of each lesson, byte for byte
same_tables() {
    local name=$1 root=$2
    shift 2
    for l in "$@"; do
        local differ=0 files=0
        for f in lessons/$l/expected/*.tsv; do
            files=$((files + 1))
            cmp -s "$f" "$root/$l/$(basename "$f")" || { differ=$((differ + 1)); echo "  $l/$(basename "$f") differs"; }
        done
        if [ "$differ" = 0 ]; then ok "$name $l: $files tables identical"; else bad "$name $l: $differ of $files tables differ"; fi
    done
}

# tool_run TOOL... DIR: a short training (two threads) and DDPM and DDIM sampling with the tool
tool_run() {
    local dir=${!#}
    local tool=("${@:1:$#-1}")
    mkdir -p "$dir"
    "${tool[@]}" train --data tests/portable/points.csv --model "$dir/m.ckpt" --steps 300 --hidden 64 --layers 2 \
        --batch 128 --threads 2 >/dev/null 2>"$dir/train.log" &&
        "${tool[@]}" sample --model "$dir/m.ckpt" --out "$dir/ddpm.csv" --n 400 --threads 2 >/dev/null 2>"$dir/sample.log" &&
        "${tool[@]}" sample --model "$dir/m.ckpt" --out "$dir/ddim.csv" --n 400 --sampler ddim --steps 20 \
            --threads 2 >/dev/null 2>>"$dir/sample.log"
}

# same_tool_run NAME DIR: DIR's files against the native run's
same_tool_run() {
    local differ=""
    for f in m.ckpt ddpm.csv ddim.csv; do cmp -s "build/portable/native/$f" "$2/$f" || differ="$differ $f"; done
    if [ -z "$differ" ]; then ok "$1 tool: model file and samples identical"; else bad "$1 tool: differ:$differ"; fi
}

# the reference: the native build's tool run
native_tool_run() {
    [ -f build/portable/native/ddim.csv ] && return 0
    make -j"$jobs" build/ddpm >/dev/null || return 1
    tool_run build/ddpm build/portable/native
}

# The test cases that the aarch64 and x86-64 builds leave out: the tool run as a program (app,
# reliability), text and files (tools, the results page, the plots, the shipped files' checksums, the
# classifier's), the PyTorch comparisons and the torchrun round trip (python runs natively; ours is
# checked natively), and the workers' signal masks (under qemu-user /proc lists qemu's own threads). Every
# kernel, layer, trainer and sampler case stays: 198 cases, about 200 s under qemu-user on a Zen 5
# machine (the cases of the tool's image commands alone had run for five minutes there without
# finishing), 36 s in the x86-64 build on an Intel Xeon (the whole of make test there: 377 s, the
# tool's image training calling fmaf for every product). The native and clang builds run every case.
# The lessons: 00-02 on both (03 trains for 14 s natively, minutes with a call per product, and the
# tool run below covers training, checkpoints and both samplers in its place).
LEFT_OUT="reliability:*,results page:*,twins:*,torchrun:*,train.py:*,pool: workers run with*,app:*,tools:*,torch parity*,shipped*,classifier:*,plot:*"
first_three="00_core 01_forward 02_sanity"
# targets BUILD: what each leg runs (the tests, the tool, lessons 00-02), not the whole of make build:
# the other lessons and lessontool are not run here, and each leg is a full compile of its own
targets() { echo "$1/tests/run_tests $1/ddpm"; for l in $first_three; do echo "$1/lessons/$l"; done; }
want="${*:-x86-64 aarch64 clang}"
rm -rf build/portable
mkdir -p build/portable

for target in $want; do
    start=$(date +%s)
    case $target in
    x86-64)
        b=build/x86-64
        if make -j"$jobs" BUILD=$b OPTFLAGS="-O3 -march=x86-64 $flags" $(targets $b) >build/portable/x86-64.log 2>&1 &&
            $b/tests/run_tests -tce="$LEFT_OUT" >>build/portable/x86-64.log 2>&1; then
            ok "x86-64 make test (the cases of LEFT_OUT left out)"
        else
            bad "x86-64 make test (build/portable/x86-64.log)"
        fi
        for l in $first_three; do $b/lessons/$l --out build/portable/x86-64/$l >/dev/null 2>>build/portable/x86-64.log; done
        same_tables x86-64 build/portable/x86-64 $first_three
        native_tool_run && tool_run $b/ddpm build/portable/x86-64/tool
        same_tool_run x86-64 build/portable/x86-64/tool
        ;;
    aarch64)
        b=build/aarch64
        if ! command -v aarch64-linux-gnu-g++ >/dev/null || ! command -v qemu-aarch64 >/dev/null; then
            bad "aarch64 (install: apt-get install g++-aarch64-linux-gnu qemu-user)"
            continue
        fi
        # The cross compiler does not look in /usr/include; doctest and stb are headers only, so a
        # folder of two links gives it those two and nothing else of the host's.
        mkdir -p $b/include
        ln -sfn /usr/include/doctest $b/include/doctest
        ln -sfn /usr/include/stb $b/include/stb
        printf '#!/bin/sh\nexec qemu-aarch64 %s/%s/ddpm "$@"\n' "$PWD" $b > $b/ddpm-qemu && chmod +x $b/ddpm-qemu
        # -fno-tree-loop-vectorize: Debian's aarch64 g++ 12.2 stops with an internal compiler error
        # (vect_transform_reduction) on the fmax reduction of lesson 04's mean check; the tiles of
        # src/fast/ are written as vectors and stay vectorised.
        if make -j"$jobs" BUILD=$b CXX=aarch64-linux-gnu-g++ OPTFLAGS="-O3 -fno-tree-loop-vectorize $flags" \
            EXTRA_CXXFLAGS="-I$b/include" \
            EXTRA_LDFLAGS=-static $(targets $b) >build/portable/aarch64.log 2>&1 &&
            DDPM_TOOL=$b/ddpm-qemu qemu-aarch64 $b/tests/run_tests -tce="$LEFT_OUT" \
                >>build/portable/aarch64.log 2>&1; then
            ok "aarch64 make test (under qemu)"
        else
            bad "aarch64 make test (build/portable/aarch64.log)"
        fi
        for l in $first_three; do qemu-aarch64 $b/lessons/$l --out build/portable/aarch64/$l >/dev/null 2>>build/portable/aarch64.log; done
        same_tables aarch64 build/portable/aarch64 $first_three
        native_tool_run && tool_run qemu-aarch64 $b/ddpm build/portable/aarch64/tool
        same_tool_run aarch64 build/portable/aarch64/tool
        ;;
    clang)
        b=build/clang
        if make -j"$jobs" BUILD=$b CXX=clang++ $(targets $b) >build/portable/clang.log 2>&1 && $b/tests/run_tests >>build/portable/clang.log 2>&1; then
            ok "clang make test"
        else
            bad "clang make test (build/portable/clang.log)"
        fi
        for l in $first_three; do $b/lessons/$l --out build/portable/clang/$l >/dev/null 2>>build/portable/clang.log; done
        same_tables clang build/portable/clang $first_three
        native_tool_run && tool_run $b/ddpm build/portable/clang/tool
        same_tool_run clang build/portable/clang/tool
        ;;
    *) bad "unknown target $target (x86-64, aarch64, clang)" ;;
    esac
    echo "portable: $target took $(($(date +%s) - start)) s"
done

echo "portable: $passed passed, $failed failed"
[ "$failed" = 0 ]
