// splice.h: put a student's answers into a copy of the published tree (the grader's first step).
//
// Only the solution regions are taken from a submission: for every region of a published file
// (BEGIN SOLUTION Lnn.k ... END SOLUTION, studentize.h), the body of the same region in the
// student's file replaces the stub. The k-th region of a task in a file matches the k-th region of
// that task in the student's file. Everything outside the regions, and every file without regions
// (the tests among them), stays as published; where the student's copy differs, the first
// difference is reported "<file>:<line>: ..." and ignored.
#pragma once

#include <filesystem>
#include <set>
#include <string>
#include <vector>

namespace ddpm::tools {

// Where a task's region lies in the spliced text (lines counted from 1, the markers included),
// so that a compiler error can be traced to the task whose answer caused it.
struct SplicedRegion {
    std::string task_id;
    int begin_line = 0, end_line = 0;
    bool taken = false;  // the body is the student's (false: the published stub)
};

struct SplicedFile {
    std::string text;
    std::vector<SplicedRegion> regions;
    std::vector<std::string> notes;  // "<file>:<line>: <what was ignored>", in file order
};

// The published text with the bodies of the submitted text's regions, except for the tasks in
// `keep_stub` (their answers did not compile). A submitted text whose markers are broken or whose
// regions of a task are not as many as the published ones gives that task the stub and a note.
SplicedFile splice_regions(const std::string& published, const std::string& submitted,
                           const std::string& filename, const std::set<std::string>& keep_stub);

// "<file>:<line>: edited outside the solution regions (ignored)" for the first line where the
// submitted file differs from the published one, or "" when they are equal.
std::string first_edit(const std::string& published, const std::string& submitted,
                       const std::string& filename);

struct SpliceSummary {
    std::vector<std::string> written;  // files of the tree that changed (relative paths)
    std::vector<std::string> notes;    // edits ignored, regions not taken
    std::vector<std::pair<std::string, SplicedRegion>> regions;  // file -> region, every file
};

// Every source file (.cpp .h .hpp) of `published` and its Makefile, compared with `submission`;
// the files with regions are spliced and written to `tree` (a copy of `published` that has been
// built) when their text there differs, through a temporary name, so that make rebuilds only
// what changed. The tasks in `keep_stub` (their answers did not compile) get the stub everywhere.
SpliceSummary splice_tree(const std::filesystem::path& published, const std::filesystem::path& submission,
                          const std::filesystem::path& tree, const std::set<std::string>& keep_stub);

}  // namespace ddpm::tools
