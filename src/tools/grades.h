// grades.h: check the per-task results that the test binary writes.
//
// The file is a TSV with the header "task  points  earned  tests  passed  title  blocked_by"
// (tab-separated; the test program's, with a last row "total"), or the older "task  points  tests
// passed  title  blocked_by" (with or without the last column), and one row per graded task. blocked_by lists the
// tasks whose stubs made this task's checks fail ("L01.1,L01.3"), or "-". Two uses:
//   expect pass  on the reference tree: every task has tests and all of them pass;
//   expect fail  on the student tree:   every task has tests and at least one of them fails,
//                so that no graded check can pass while its solution is still a stub.
#pragma once

#include <string>
#include <vector>

namespace ddpm::tools {

struct GradeRow {
    int line = 0;        // line number in the file, for messages
    std::string task;    // "L01.2"
    std::string points;  // as written, e.g. "2" or "0.5"
    int tests = 0;       // graded checks run for this task
    int passed = 0;      // of those, how many passed
    std::string title;
    std::string blocked_by;  // "" or "L01.1,L01.3": other tasks' stubs that failed its checks
    std::string earned;      // the points it scored, as written; "" in files without that column
};

enum class Expect { pass, fail };

// The rows of a grades file. Throws std::runtime_error("<filename>:<line>: <problem>") when the
// header, a field or a row count is wrong, or a task is listed twice.
std::vector<GradeRow> parse_grades(const std::string& text, const std::string& filename);

// Empty when the row is what `expect` asks for, else the problem in a few words.
std::string grade_problem(const GradeRow& row, Expect expect);

int count_problems(const std::vector<GradeRow>& rows, Expect expect);

// The table printed by "lessontool grades": one aligned row per task with verdict OK or PROBLEM
// (and why), then a summary line.
std::string grades_table(const std::vector<GradeRow>& rows, Expect expect);

}  // namespace ddpm::tools
