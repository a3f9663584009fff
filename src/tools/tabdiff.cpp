// tabdiff.cpp: field-by-field comparison of TSV tables, numbers within a tolerance.
#include "tools/tabdiff.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace ddpm::tools {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// Reading TSV text
// ---------------------------------------------------------------------------------------------
std::string read_text_file(const fs::path& path) {
    if (!fs::exists(path)) throw std::runtime_error(path.string() + ": no such file");
    if (fs::is_directory(path)) throw std::runtime_error(path.string() + ": is a directory");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(path.string() + ": cannot read");
    std::ostringstream bytes;
    bytes << in.rdbuf();
    if (in.bad()) throw std::runtime_error(path.string() + ": cannot read");
    return bytes.str();
}

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        std::string line = text.substr(start, end - start);
        // A table written on Windows still compares equal to one written on Linux.
        if (!line.empty() && line.back() == '\r') line.pop_back();
        lines.push_back(line);
        start = end + 1;
    }
    return lines;
}

std::vector<std::string> split_fields(const std::string& line) {
    std::vector<std::string> fields;
    size_t start = 0;
    while (true) {
        size_t tab = line.find('\t', start);
        if (tab == std::string::npos) {
            fields.push_back(line.substr(start));
            return fields;
        }
        fields.push_back(line.substr(start, tab - start));
        start = tab + 1;
    }
}

bool parse_number(const std::string& field, double* value) {
    // strtod would skip leading spaces; " 1" is text here, so that "1" and " 1" are not "equal".
    if (field.empty() || std::isspace(static_cast<unsigned char>(field[0]))) return false;
    char* end = nullptr;
    double parsed = std::strtod(field.c_str(), &end);
    if (end != field.c_str() + field.size()) return false;
    *value = parsed;
    return true;
}

bool numbers_close(double expected, double got, double rtol, double atol) {
    if (std::isnan(expected) || std::isnan(got)) return std::isnan(expected) && std::isnan(got);
    // inf - inf is nan, which would fail the test below; infinities match only themselves.
    if (std::isinf(expected) || std::isinf(got)) return expected == got;
    double scale = std::max(std::fabs(expected), std::fabs(got));
    return std::fabs(expected - got) <= atol + rtol * scale;
}

// ---------------------------------------------------------------------------------------------
// Comparing two tables
// ---------------------------------------------------------------------------------------------
namespace {

// Collects the report lines of one file; past the limit it only counts them.
struct Reporter {
    std::string filename;
    int limit = 20;
    std::vector<std::string> lines;
    int hidden = 0;

    void add(const std::string& where, const std::string& problem) {
        if (static_cast<int>(lines.size()) < limit) lines.push_back(where + ": " + problem);
        else hidden++;
    }
    void at_line(int line_number, const std::string& problem) {
        add(filename + ":" + std::to_string(line_number), problem);
    }
    void whole_file(const std::string& problem) { add(filename, problem); }

    std::vector<std::string> finish() {
        if (hidden > 0) {
            lines.push_back(filename + ": " + std::to_string(hidden) +
                            " more differences not shown");
        }
        return lines;
    }
};

std::string short_number(double x) {
    char text[32];
    std::snprintf(text, sizeof text, "%.3g", x);
    return text;
}

// The column names when line 1 is a header (no field of it is a number), else nothing.
std::vector<std::string> header_names(const std::vector<std::string>& expected_lines) {
    if (expected_lines.empty()) return {};
    std::vector<std::string> fields = split_fields(expected_lines[0]);
    double unused = 0;
    for (const std::string& field : fields) {
        if (parse_number(field, &unused)) return {};
    }
    return fields;
}

// True when the two fields agree. Otherwise *note may get an explanation for numbers.
bool fields_match(const std::string& expected, const std::string& got,
                  const DiffOptions& options, std::string* note) {
    double a = 0, b = 0;
    if (!parse_number(expected, &a) || !parse_number(got, &b)) return expected == got;
    if (numbers_close(a, b, options.rtol, options.atol)) return true;
    if (std::isfinite(a) && std::isfinite(b)) {
        double allowed = options.atol + options.rtol * std::max(std::fabs(a), std::fabs(b));
        *note = " (off by " + short_number(std::fabs(a - b)) + ", tolerance " +
                short_number(allowed) + ")";
    }
    return false;
}

void compare_line(const std::string& expected_line, const std::string& got_line,
                  int line_number, const std::vector<std::string>& names,
                  const DiffOptions& options, Reporter& report) {
    std::vector<std::string> expected = split_fields(expected_line);
    std::vector<std::string> got = split_fields(got_line);
    if (expected.size() != got.size()) {
        // The columns no longer line up, so comparing them one by one would only add noise.
        report.at_line(line_number, "expected " + std::to_string(expected.size()) +
                                        " fields, got " + std::to_string(got.size()));
        return;
    }
    for (size_t k = 0; k < expected.size(); k++) {
        std::string note;
        if (fields_match(expected[k], got[k], options, &note)) continue;
        std::string column = "column " + std::to_string(k + 1);
        if (line_number > 1 && k < names.size()) column += " (" + names[k] + ")";
        report.at_line(line_number,
                       column + ": expected " + expected[k] + ", got " + got[k] + note);
    }
}

}  // namespace

std::vector<std::string> diff_tsv_text(const std::string& expected, const std::string& got,
                                       const std::string& filename, const DiffOptions& options) {
    std::vector<std::string> expected_lines = split_lines(expected);
    std::vector<std::string> got_lines = split_lines(got);
    std::vector<std::string> names = header_names(expected_lines);

    Reporter report;
    report.filename = filename;
    report.limit = options.max_reports_per_file;
    if (expected_lines.size() != got_lines.size()) {
        report.whole_file("expected " + std::to_string(expected_lines.size()) + " lines, got " +
                          std::to_string(got_lines.size()));
    }
    size_t common = std::min(expected_lines.size(), got_lines.size());
    for (size_t i = 0; i < common; i++) {
        compare_line(expected_lines[i], got_lines[i], static_cast<int>(i + 1), names, options,
                     report);
    }
    return report.finish();
}

// ---------------------------------------------------------------------------------------------
// Comparing two directories
// ---------------------------------------------------------------------------------------------
namespace {

// Paths of the *.tsv files under root, relative to it, sorted so that reports are reproducible.
std::vector<fs::path> tsv_files_under(const fs::path& root) {
    std::vector<fs::path> files;
    for (const fs::directory_entry& entry : fs::recursive_directory_iterator(root)) {
        if (entry.is_regular_file() && entry.path().extension() == ".tsv") {
            files.push_back(entry.path().lexically_relative(root));
        }
    }
    std::sort(files.begin(), files.end());
    return files;
}

}  // namespace

DirDiff diff_dirs(const fs::path& out_dir, const fs::path& expected_dir,
                  const DiffOptions& options) {
    if (!fs::is_directory(expected_dir)) {
        throw std::runtime_error(expected_dir.string() + ": not a directory");
    }
    std::vector<fs::path> files = tsv_files_under(expected_dir);
    if (files.empty()) {
        throw std::runtime_error(expected_dir.string() + ": no .tsv files to compare with");
    }

    DirDiff result;
    for (const fs::path& relative : files) {
        fs::path got_path = (out_dir / relative).lexically_normal();
        fs::path expected_path = expected_dir / relative;
        result.files_compared++;

        std::vector<std::string> reports;
        if (!fs::is_regular_file(got_path)) {
            reports.push_back(got_path.string() + ": missing (the lesson did not write it)");
        } else {
            reports = diff_tsv_text(read_text_file(expected_path), read_text_file(got_path),
                                    got_path.string(), options);
        }
        if (!reports.empty()) result.files_differing++;
        result.reports.insert(result.reports.end(), reports.begin(), reports.end());
    }
    return result;
}

}  // namespace ddpm::tools
