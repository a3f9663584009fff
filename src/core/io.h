// io.h: files and tables.
//
// Files are written to "<path>.tmp" and renamed over <path>: a reader (or a crash) never sees half
// a file, and an old result is replaced only by a complete new one.
// Tables are what lessons print: fixed precision, so that the same run prints the same bytes, to
// stdout (aligned, for people) and to a TSV file (for `make diff` against lessons/*/expected/).
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace ddpm {

void make_dirs(const std::string& dir);                            // like mkdir -p
void write_file_atomic(const std::string& path, const std::string& bytes);
std::string read_file(const std::string& path);                    // throws "<path>: <reason>"

// Fixed-precision formatting: fmt(0.1234567, 4) == "0.1235"; fmt_sci(1e-5, 3) == "1.000e-05".
std::string fmt(double v, int decimals = 6);
std::string fmt_sci(double v, int digits = 3);

class Table {
 public:
    explicit Table(std::vector<std::string> columns);
    void add_row(std::vector<std::string> cells);
    size_t rows() const { return rows_.size(); }
    void print(const std::string& title, FILE* out = stdout) const;   // aligned columns
    void save_tsv(const std::string& path) const;                      // header line + rows

 private:
    std::vector<std::string> columns_;
    std::vector<std::vector<std::string>> rows_;
};

}  // namespace ddpm
