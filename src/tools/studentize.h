// studentize.h: make the student tree from the reference tree.
//
// Reference code for a graded task sits in place, between two marker comments, each on its own
// line:
//
//       // BEGIN SOLUTION L01.2      <- the task ID: L, two digits (the lesson), '.', a number
//       ... reference code ...
//       // END SOLUTION             <- may repeat the same ID, nothing else
//
// In the student tree the region's body becomes one line with the indentation of the opening
// marker; the marker lines stay, so that the student sees where to write and the grader can take
// the answer back out (tools/splice.h):
//
//       // BEGIN SOLUTION L01.2
//       ddpm::not_implemented("L01.2", "lessons/01_forward/README.md");
//       // END SOLUTION
//
// Every other byte of the file is kept. Markers are checked strictly, because a region that is
// not recognised would hand its solution to the student: an opening marker without its end, an end
// without an opening, nesting, a malformed ID, text after the ID, or the two keywords in the wrong
// case are all errors "<file>:<line>: <problem>".
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace ddpm::tools {

// ---------------------------------------------------------------------------------------------
// One file
// ---------------------------------------------------------------------------------------------
struct Region {
    std::string task_id;  // "L01.2"
    int begin_line = 0;   // line of the opening marker, counted from 1
    int end_line = 0;     // line of the closing marker
    std::string indent;   // the spaces and tabs before the opening marker
};

// True for IDs like "L01.2" or "L11.10": L, two digits, '.', one or more digits.
bool is_task_id(const std::string& text);

// The regions of one file, in order. Throws std::runtime_error("<filename>:<line>: <problem>")
// for the first malformed or unbalanced marker.
std::vector<Region> find_regions(const std::string& text, const std::string& filename);

// The stub that replaces a region, without indentation or newline:
// ddpm::not_implemented("L01.2", "lessons/01_forward/README.md");
std::string stub_line(const std::string& task_id, const std::string& lesson_dir);

// Maps a task ID to its lesson directory relative to the root, e.g. "lessons/01_forward".
// May throw std::runtime_error with a message that does not name a file; the caller adds it.
using LessonDirForId = std::function<std::string(const std::string& task_id)>;

// The text with every region replaced by its stub line. Throws like find_regions, and
// "<filename>:<line>: <what lesson_dir_for_id threw>" for a task whose lesson is not found.
std::string studentize_text(const std::string& text, const std::string& filename,
                            const LessonDirForId& lesson_dir_for_id);

// The text with the regions of `task_id` alone replaced by their stubs, and the number replaced
// (make check-tasks: each task's checks must fail with only its own regions stubbed).
std::string stub_task_text(const std::string& text, const std::string& filename, const std::string& task_id,
                           const LessonDirForId& lesson_dir_for_id, int* replaced);

// The text with the one occurrence of `search` inside the regions of `task_id` replaced (make
// check-tasks' mutations). Throws "<filename>: ..." when `search` occurs there not exactly once.
std::string mutate_task_text(const std::string& text, const std::string& filename, const std::string& task_id,
                             const std::string& search, const std::string& replacement);

// ---------------------------------------------------------------------------------------------
// The whole tree
// ---------------------------------------------------------------------------------------------

// The unique directory src_root/lessons/NN_* for task LNN.k, as "lessons/NN_name".
// Throws std::runtime_error when there is none or more than one.
std::string find_lesson_dir(const std::filesystem::path& src_root, const std::string& task_id);

struct StudentTree {
    int regions = 0;                 // regions replaced
    int files = 0;                   // files that held at least one region
    std::vector<std::string> tasks;  // distinct task IDs, in order L00.1 L00.2 ... L00.10 L01.1
};

// Copies lessons/ src/ data/ tests/ docs/ Makefile README.md (those that exist) from src_root to
// dst_dir, replacing the regions of every .cpp, .h and .hpp file, skipping directories whose name
// starts with '.' and the files that hold answers (tests/bench/*.py, the PyTorch twins, and
// tests/mutations.txt), and writes dst_dir/STUDENT_TREE (a note for the student) and a .gitignore.
// When src_root holds docs/student/README.md, that file becomes the tree's README.md, and the
// instructor's README.md, docs/student/ and docs/instructors.md are left out.
//
// The copy is made in "<dst_dir>.partial" and renamed at the end, so an error never leaves a
// half-written dst_dir. An existing dst_dir is deleted first, but only when it is empty or holds
// a STUDENT_TREE file (it was made by this function): a mistyped path never deletes real work.
// Refuses a dst_dir equal to src_root, containing it, or inside a directory that is copied, and a
// src_root that is itself a student tree (it holds STUDENT_TREE).
StudentTree make_student_tree(const std::filesystem::path& src_root,
                              const std::filesystem::path& dst_dir);

// "student tree: build/student (12 regions in 5 files, tasks L00.1 L00.2 ...)"
std::string student_tree_summary(const StudentTree& tree, const std::string& dst_name);

}  // namespace ddpm::tools
