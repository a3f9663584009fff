#!/bin/sh
# make check-student-dist: unpack the student tarball as a student would, look for answers in it,
# build it, and require every graded task to fail there (no graded check passes on a stub).
# usage: tests/check_student_dist.sh TARBALL LESSONTOOL   (from the reference root)
set -eu
tarball=$1
tool=$2
work=build/dist/check
rm -rf "$work"
mkdir -p "$work"
tar -C "$work" -xzf "$tarball"
tree=$(find "$work" -mindepth 1 -maxdepth 1 -type d)
problems=0

problem() { echo "check-student-dist: PROBLEM: $*" >&2; problems=$((problems + 1)); }

[ "$(echo "$tree" | wc -l)" -eq 1 ] || { echo "check-student-dist: $tarball should hold one folder" >&2; exit 1; }
[ -f "$tree/STUDENT_TREE" ] || problem "no STUDENT_TREE"
grep -qx '/build/' "$tree/.gitignore" && grep -qx '/out/' "$tree/.gitignore" && grep -qx '/data/mnist/' "$tree/.gitignore" ||
    problem ".gitignore should name /build/, /out/ and /data/mnist/"
for leak in .ci .git build out data/mnist tests/mutations.txt docs/instructors.md docs/student; do
    [ ! -e "$tree/$leak" ] || problem "$leak is in the tarball"
done
twins=$(find "$tree/tests/bench" -name '*.py')
[ -z "$twins" ] || problem "PyTorch twins in the tarball: $twins"
# every region holds its stub and nothing else
find "$tree/src" "$tree/lessons" "$tree/tests" -name '*.cpp' -o -name '*.h' > "$work/sources"
answers=$(xargs awk '/^[ \t]*\/\/ BEGIN SOLUTION/ { inside = 1; next }
                     /^[ \t]*\/\/ END SOLUTION/ { inside = 0; next }
                     inside && !/^[ \t]*ddpm::not_implemented\(/ { print FILENAME ":" FNR }' < "$work/sources")
[ -z "$answers" ] || problem "regions that hold more than their stub: $answers"
regions=$(xargs grep -h '^[[:space:]]*// BEGIN SOLUTION' < "$work/sources" | wc -l)
[ "$regions" -gt 0 ] || problem "no solution regions in the tarball"

# a student's first make test: the graded checks alone, built at -O1 into build/quick/
start=$(date +%s)
make -C "$tree" test > "$work/quick.log" 2>&1 || true
[ -f "$tree/build/grades.tsv" ] || { tail -n 20 "$work/quick.log" >&2; exit 1; }
echo "check-student-dist: the first make test (graded checks, -O1) built and ran in $(( $(date +%s) - start )) s"
mv "$tree/build/grades.tsv" "$work/grades-quick.tsv"
"$tool" grades "$work/grades-quick.tsv" --expect fail || problem "a graded task passes in the student tarball's make test"

start=$(date +%s)
make -C "$tree" build-tests BUILD=build > "$work/build.log" 2>&1 || { tail -n 20 "$work/build.log" >&2; exit 1; }
echo "check-student-dist: the whole test program (-O3) built in $(( $(date +%s) - start )) s"
(cd "$tree" && DDPM_GRADES_TSV=grades.tsv build/tests/run_tests > ../tests.log 2>&1) || true
"$tool" grades "$tree/grades.tsv" --expect fail || problem "a graded task passes in the student tarball"
# the two programs give every task the same checks and the same verdicts
cut -f1,3,4,5 "$work/grades-quick.tsv" > "$work/quick.cols"
cut -f1,3,4,5 "$tree/grades.tsv" > "$work/full.cols"
cmp -s "$work/quick.cols" "$work/full.cols" ||
    problem "make test (-O1, graded checks alone) and the whole test program disagree: $(diff "$work/quick.cols" "$work/full.cols" | head -n 4)"
[ "$problems" -eq 0 ] || { echo "check-student-dist: $problems problems ($work)" >&2; exit 1; }
echo "check-student-dist: $tarball unpacks, holds $regions stubbed regions and no answers, builds, and every task fails"
