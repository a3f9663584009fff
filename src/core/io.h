// io.h: files and tables.
//
// Files are written to a temporary name of their own in the same folder,
// "<path>.<tag>-<n>.tmp" (the tag names this process, see set_temp_tag), and renamed over <path>: a
// reader (or a crash) never sees half a file, an old result is replaced only by a complete new one,
// and two processes writing the same path never share a temporary file. A path that exists and is not
// a regular file (a device such as /dev/null, a FIFO, a folder, a symbolic link) is never replaced.
// Tables are what lessons print: fixed precision, so that the same run prints the same bytes, to
// stdout (aligned, for people) and to a TSV file (for `make diff` against lessons/*/expected/).
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace ddpm {

void make_dirs(const std::string& dir);                            // like mkdir -p
void write_file_atomic(const std::string& path, const std::string& bytes);
// The path beside `path` that its side files (temporary files, the tool's lock) are named from: the
// path itself when its file name has at most 200 bytes, else the folder and the name's first 180
// bytes, '~' and 16 hex digits of a hash of the whole name, so that a side file's name (the stem and
// at most 45 bytes more) always fits a file system's 255 bytes.
std::string side_file_stem(const std::string& path);
// A fresh temporary name for `path`, as write_file_atomic uses (nothing is created).
std::string temp_path_for(const std::string& path);
// The tag of this process's temporary names: by default "tmp" and 16 random hex digits; the ddpm
// tool sets "ddpm-<process id>", so that a later run can tell its own leftovers (after a SIGKILL)
// from anything else.
void set_temp_tag(const std::string& tag);
// The temporary file write_file_atomic is writing at this moment, or "" (async-signal-safe: a
// signal handler may unlink it).
const char* temp_file_in_progress();
// Marks `tmp` as the temporary file in progress (a name of this process's own, before it is
// created), so that a signal handler removes it; clear_in_progress when it is gone or renamed.
void set_in_progress(const std::string& tmp);
void clear_in_progress();

// The whole of a regular file, at most max_bytes of it; a folder, a FIFO or a device is refused
// before it is opened (it could block or never end). Throws "<path>: <reason>".
std::string read_file(const std::string& path, int64_t max_bytes = int64_t(1) << 40);

// Fixed-precision formatting: fmt(0.1234567, 4) == "0.1235"; fmt_sci(1e-5, 3) == "1.000e-05".
std::string fmt(double v, int decimals = 6);
std::string fmt_sci(double v, int digits = 3);
// fmt_g(0.0001) == "0.0001" ("%g", for names and messages); fmt_exact: "%.17g", which reads back to
// the same double (checkpoint metadata).
std::string fmt_g(double v, int digits = 6);
std::string fmt_exact(double v);

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
