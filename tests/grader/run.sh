#!/bin/sh
# The grader's acceptance (make check-grader): six submissions made from the published tree and
# the reference's solutions, graded into the built tree, each score checked.
#   solved     the regions of L00.1-L00.3 and L01.1-L01.3 filled from the reference: 15 points
#   untouched  the published tree: 0 points
#   cheat      solved, and the two L02.1 tests made to return early: 15 points, the edit reported
#   crash      solved, with a null-pointer write planted in L01.3's region: L01.3 scores 0 with
#              the signal, the other five tasks keep their points, and L02.1, whose checks run
#              L01.3's code, crashes "blocked by L01.3"
#   broken     solved, with a line that does not compile in L00.3's region: L00.3 scores 0 with the
#              compiler's error, the other five tasks keep their points
#   hang       solved, with an endless loop in L00.3's region, graded with a 5 s limit per task:
#              L00.3 scores 0 "did not finish", the other five tasks keep their points
# usage: tests/grader/run.sh LESSONTOOL GRADE_DIR   (run from the reference root)
set -eu
tool=$1
grade_dir=$2
work=$grade_dir/acceptance
rm -rf "$work"
mkdir -p "$work"
failures=0

fail() { echo "check-grader: $*" >&2; failures=$((failures + 1)); }

# grade NAME [OPTION...]: grades $work/NAME into $work/NAME.json, with its time
grade() {
    start=$(date +%s)
    name=$1
    shift
    "$tool" grade "$work/$name" --published "$grade_dir/published" --tree "$grade_dir/tree" \
        --out "$work/$name.json" --csv "$work/class.csv" --id "$name" "$@" 2> "$work/$name.log" ||
        { cat "$work/$name.log" >&2; exit 1; }
    tail -n 1 "$work/$name.log"
    echo "  ($name: $(( $(date +%s) - start )) s in all)"
}

# expect_total NAME SCORE
expect_total() {
    grep -q "^  \"score\": $2,\$" "$work/$1.json" || fail "$1: expected a total of $2, got $(grep -m1 '"score"' "$work/$1.json")"
}

# expect_task NAME TASK SCORE [TEXT]: the task's row has that score (and TEXT in its output)
expect_task() {
    row=$(grep "\"name\": \"$2 " "$work/$1.json" || true)
    printf "%s\n" "$row" | grep -q "\"score\": $3," || fail "$1: $2 should score $3: $row"
    if [ $# -ge 4 ]; then printf "%s\n" "$row" | grep -q "$4" || fail "$1: $2's output should say '$4': $row"; fi
}

solved="src/core/gradcheck.cpp src/core/ops.cpp src/core/optim.cpp src/diffusion/schedule.cpp src/diffusion/diffusion.cpp"
cp -a "$grade_dir/published" "$work/untouched"
cp -a "$grade_dir/published" "$work/solved"
for f in $solved; do cp "$f" "$work/solved/$f"; done
cp -a "$work/solved" "$work/cheat"
sed -i 's/^TEST_CASE("L02.1 .*{$/&\n    return;/' "$work/cheat/tests/test_stats.cpp"
grep -q '^    return;$' "$work/cheat/tests/test_stats.cpp" || fail "could not plant the early returns"
# plant NAME TASK FILE LINE: NAME is the solved tree with LINE put first in TASK's region of FILE
plant() {
    cp -a "$work/solved" "$work/$1"
    sed -i "s|^\\( *\\)// BEGIN SOLUTION $2\$|&\\n\\1$4|" "$work/$1/$3"
    grep -qF "$4" "$work/$1/$3" || fail "could not plant $1 in $3"
}
plant crash L01.3 src/diffusion/diffusion.cpp '*static_cast<volatile int*>(nullptr) = 1;'
plant broken L00.3 src/core/optim.cpp 'this is not C++;'
plant hang L00.3 src/core/optim.cpp 'for (;;) { volatile int spin = 0; (void)spin; }'

grade untouched
expect_total untouched 0
expect_task untouched L00.1 0 "0 of"
expect_task untouched L03.1 0 "blocked by"

grade solved
expect_total solved 15
for task in L00.1 L00.2 L00.3 L01.1 L01.2 L01.3; do expect_task solved $task "[1-9]"; done
expect_task solved L02.1 0

grade cheat
expect_total cheat 15
expect_task cheat L02.1 0
grep -q 'tests/test_stats.cpp:[0-9]*: edited outside the solution regions' "$work/cheat.json" ||
    fail "cheat: the edit of tests/test_stats.cpp is not reported"

grade crash
expect_task crash L01.3 0 "signal 11"
# L02.1's checks run L01.3's code (tests/tasks.h: it needs L01.1 and L01.3 first): its crash is L01.3's
expect_task crash L02.1 0 "crashed: signal 11.*blocked by L01.3"
for task in L00.1 L00.2 L00.3 L01.1 L01.2; do expect_task crash $task "[1-9]"; done

grade broken
expect_total broken 13
expect_task broken L00.3 0 "does not compile.*optim.cpp:[0-9]*:[0-9]*: error"
for task in L00.1 L00.2 L01.1 L01.2 L01.3; do expect_task broken $task "[1-9]"; done

grade hang --timeout 5
expect_total hang 13
expect_task hang L00.3 0 "did not finish in 5 s"
for task in L00.1 L00.2 L01.1 L01.2 L01.3; do expect_task hang $task "[1-9]"; done

lines=$(wc -l < "$work/class.csv")
[ "$lines" -eq 7 ] || fail "class.csv should have a header and 6 rows, has $lines lines"
head -n 1 "$work/class.csv" | grep -q '^student,L00.1,.*,total$' || fail "class.csv header: $(head -n 1 "$work/class.csv")"
grep -q '^cheat,3,3,2,2,2,3,0,.*,15$' "$work/class.csv" || fail "class.csv: cheat's row: $(grep '^cheat' "$work/class.csv")"

if [ "$failures" -ne 0 ]; then echo "check-grader: $failures problems ($work)" >&2; exit 1; fi
echo "check-grader: the six submissions score as they should ($work)"
