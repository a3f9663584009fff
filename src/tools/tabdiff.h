// tabdiff.h: compare the TSV tables a lesson writes (out/<lesson>/) with the expected ones.
//
// Numbers are compared with a tolerance, everything else as text:
//   - a field that parses completely as a number on both sides (strtod, so "nan", "inf", "1e-3"
//     count) is equal when |a - b| <= atol + rtol * max(|a|, |b|); nan equals only nan, and an
//     infinity equals only the same infinity;
//   - any other field must be the same string.
// Line 1 counts as a header when none of its expected fields is a number; its names are then used
// in the reports: "out/01_forward/moments.tsv:4: column 3 (var): expected 0.25, got 0.31 (...)".
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace ddpm::tools {

// ---------------------------------------------------------------------------------------------
// Reading TSV text (also used by grades.cpp)
// ---------------------------------------------------------------------------------------------

// The whole file as bytes; throws std::runtime_error("<path>: cannot read") on failure.
std::string read_text_file(const std::filesystem::path& path);

// Lines without their '\n' (and without a trailing '\r'). A final newline does not start an
// extra empty line: "a\nb\n" and "a\nb" both give {"a", "b"}; "" gives {}.
std::vector<std::string> split_lines(const std::string& text);

// Tab-separated fields: "a\t\tb" gives {"a", "", "b"}; "" gives {""}.
std::vector<std::string> split_fields(const std::string& line);

// True when the whole field is a number for strtod (no surrounding spaces, not empty).
bool parse_number(const std::string& field, double* value);

// |expected - got| <= atol + rtol * max(|expected|, |got|), with nan == nan and inf == inf.
bool numbers_close(double expected, double got, double rtol, double atol);

// ---------------------------------------------------------------------------------------------
// Comparing
// ---------------------------------------------------------------------------------------------
struct DiffOptions {
    double rtol = 1e-4;
    double atol = 1e-6;
    int max_reports_per_file = 20;  // later differences are only counted
};

// The differences between two tables as report lines "<filename>:<line>: ...", or
// "<filename>: ..." for the whole file; empty when they match.
std::vector<std::string> diff_tsv_text(const std::string& expected, const std::string& got,
                                       const std::string& filename, const DiffOptions& options);

struct DirDiff {
    int files_compared = 0;            // every *.tsv under the expected directory
    int files_differing = 0;           // of those, how many differ or are missing
    std::vector<std::string> reports;  // all report lines, file by file in sorted order
};

// Compares every *.tsv under expected_dir (recursively) with the same relative path under
// out_dir. Throws std::runtime_error when expected_dir is not a directory or holds no .tsv file.
DirDiff diff_dirs(const std::filesystem::path& out_dir, const std::filesystem::path& expected_dir,
                  const DiffOptions& options);

}  // namespace ddpm::tools
