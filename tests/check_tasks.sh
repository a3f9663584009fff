#!/bin/sh
# make check-tasks: every graded check must catch wrong code, task by task, in a scratch copy of the
# reference tree (build/check-tasks/tree, with the reference's objects, so each variant rebuilds one
# file and relinks):
#   1. each task with only its own regions stubbed: its checks must fail (not pass on another task's
#      code, nor on a stub elsewhere);
#   2. each mutation of tests/mutations.txt (an off-by-one index, a missing factor, a dropped update
#      in the task's reference code): it must compile, and the task's checks must fail.
# usage: tests/check_tasks.sh LESSONTOOL [TASK]   (from the reference root, after make build-tests;
# TASK: only that task's variants)
set -eu
tool=$1
only=${2:-}
work=build/check-tasks
tree=$work/tree
rm -rf "$work"
mkdir -p "$tree/build"
cp -a Makefile src tests lessons data "$tree/"
cp -a build/obj build/compile_flags "$tree/build/"
problems=0
variants=0
start=$(date +%s)

problem() { echo "check-tasks: PROBLEM: $*" >&2; problems=$((problems + 1)); }

# variant TASK WHAT: builds the tree as it is now and requires TASK's checks to fail
variant() {
    variants=$((variants + 1))
    if ! make -C "$tree" build/tests/run_tests > "$work/build.log" 2>&1; then
        problem "$1, $2: does not build ($(grep -m1 'error' "$work/build.log" || true))"
        return
    fi
    if (cd "$tree" && timeout 600 build/tests/run_tests -tc="$1 *") > "$work/run.log" 2>&1; then
        problem "$1, $2: its graded checks all pass"
    else
        echo "check-tasks: ok  $1, $2: $(grep -m1 '^tests:' "$work/run.log" || echo 'crashed or timed out')"
    fi
}

tasks=$(grep -o '{"L[0-9][0-9]\.[0-9]*"' tests/tasks.h | tr -d '{"')
for task in $tasks; do
    [ -z "$only" ] || [ "$task" = "$only" ] || continue
    files=$("$tool" stub-task "$tree" "$task")
    variant "$task" "stubbed"
    for f in $files; do cp "$f" "$tree/$f"; done
done

n=0
grep -v '^#' tests/mutations.txt > "$work/mutations"
while IFS= read -r line; do
    n=$((n + 1))
    task=$(printf '%s\n' "$line" | cut -f1)
    file=$(printf '%s\n' "$line" | cut -f2)
    search=$(printf '%s\n' "$line" | cut -f3)
    replacement=$(printf '%s\n' "$line" | cut -f4)
    what=$(printf '%s\n' "$line" | cut -f5)
    [ -z "$only" ] || [ "$task" = "$only" ] || continue
    echo "$tasks" | grep -qx "$task" || { problem "tests/mutations.txt, mutation $n: no task $task"; continue; }
    if "$tool" mutate "$tree/$file" "$task" "$search" "$replacement" 2> "$work/mutate.log"; then
        variant "$task" "mutation $n ($what)"
    else
        problem "tests/mutations.txt, mutation $n: $(cat "$work/mutate.log")"
    fi
    cp "$file" "$tree/$file"
done < "$work/mutations"

echo "check-tasks: $variants variants, $problems problems, $(( $(date +%s) - start )) s"
[ "$problems" -eq 0 ]
