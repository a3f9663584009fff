// grader.h: grade one submission into a built copy of the published tree (lessontool grade).
//
//   1. splice.h takes the solution regions of the submission into the tree (nothing else);
//   2. make rebuilds the test program there, incrementally; when a file does not compile, the
//      tasks whose regions hold the compiler's errors get their stubs back and make runs again,
//      so that one task's broken answer costs that task alone;
//   3. each task's graded checks run in their own process (run_tests -tc="L01.2 *") with a time
//      limit, so that a crash or an endless loop costs that task alone;
//   4. the scores go to Gradescope's results.json, and a row of the class CSV when one is named.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace ddpm::tools {

struct GradeOptions {
    std::filesystem::path submission;  // the student's tree
    std::filesystem::path published;   // the student tree as published (never written)
    std::filesystem::path tree;        // a copy of `published` that has been built
    int timeout_seconds = 60;          // per task
    int jobs = 2;                      // make -j
};

struct TaskScore {
    std::string id, title;
    double score = 0, max_score = 0;
    std::string output;  // why, for the student: "blocked by L01.1", the compiler error, the signal
};

struct GradeReport {
    std::vector<TaskScore> tasks;
    std::vector<std::string> notes;  // edits outside the regions (ignored), regions not taken
    double build_seconds = 0, check_seconds = 0;
    double total() const;
    double max_total() const;
};

GradeReport grade_submission(const GradeOptions& options);

// Gradescope's autograder format: {"score", "output", "tests": [{"name", "score", "max_score",
// "output", "visibility"}]}.
std::string results_json(const GradeReport& report);

// The class CSV with the row of `student` added, or replaced when it is there already
// ("student,L00.1,...,total"). Throws when `csv` has another header (another set of tasks).
std::string class_csv_with(const std::string& csv, const std::string& student, const GradeReport& report);

// The output of a process, kept to its last `limit` bytes, with a note that the start was cut.
std::string tail_of(const std::string& text, size_t limit);

}  // namespace ddpm::tools
