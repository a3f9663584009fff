// results_page.h: out/index.html, one static page with the results of every lesson
// (`lessontool results ROOT OUT_DIR [--grades GRADES_TSV]`, which `make` runs after the lessons and
// `make diff` after its comparison).
//
// For each lesson folder ROOT/lessons/NN_name/, in order: its title (the README's first "# " line)
// and a link to its README; the figures OUT_DIR/NN_name/*.png; the tables OUT_DIR/NN_name/*.tsv as
// HTML tables (the first 40 rows), each marked with the result of `make diff` when there is one;
// the time the lesson ran; and the graded tasks of the lesson (rows "LNN.k" of the grades file that
// `make test` writes). Plain HTML and CSS, no script, nothing from the network; every path in it is
// relative, so the folder can be copied or opened from anywhere.
//
// Files the page reads besides the lessons' own (written by the Makefile):
//   OUT_DIR/NN_name/run_seconds   whole seconds of the last run of the lesson ("make", run-lessons)
//   OUT_DIR/NN_name/diff.status   `lessontool diff --status`: one line per expected table,
//                                 "<table.tsv>\tmatch|differs|missing\t<first report or ->"
// A diff.status older than one of the lesson's tables is stale and is shown as "not compared".
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace ddpm::tools {

// The page's HTML. grades_file may be empty or name a file that does not exist (then the page says
// the grades are not there); a grades file that exists must parse (grades.h). Links are relative
// to out_dir.
std::string results_page_html(const std::filesystem::path& root, const std::filesystem::path& out_dir,
                              const std::filesystem::path& grades_file);

// Writes out_dir/index.html (to a temporary name, then renamed); returns its path.
std::filesystem::path write_results_page(const std::filesystem::path& root, const std::filesystem::path& out_dir,
                                         const std::filesystem::path& grades_file);

// The diff.status text for a lesson's comparison: one line per table of expected_dir.
std::string diff_status_text(const std::filesystem::path& out_dir, const std::filesystem::path& expected_dir,
                             double rtol, double atol);

// Writes `text` to `path` through a temporary name in the same folder and a rename.
void write_text_atomic(const std::filesystem::path& path, const std::string& text);

}  // namespace ddpm::tools
