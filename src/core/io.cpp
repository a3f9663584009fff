#include "core/io.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/common.h"

namespace ddpm {

void make_dirs(const std::string& dir) {
    if (dir.empty()) return;
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) fail(dir + ": cannot create directory: " + ec.message());
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
    std::filesystem::path p(path);
    if (p.has_parent_path()) make_dirs(p.parent_path().string());
    const std::string tmp = path + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) fail(path + ": cannot write: " + std::strerror(errno));
    size_t written = std::fwrite(bytes.data(), 1, bytes.size(), f);
    bool ok = written == bytes.size() && std::fflush(f) == 0;
    ok = (std::fclose(f) == 0) && ok;
    if (!ok) {
        std::remove(tmp.c_str());
        fail(path + ": write failed (disk full?)");
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        std::remove(tmp.c_str());
        fail(path + ": cannot rename from " + tmp + ": " + std::strerror(errno));
    }
}

std::string read_file(const std::string& path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) fail(path + ": is a directory, not a file");
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(path + ": cannot open: " + std::strerror(errno));
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) fail(path + ": read error");
    return ss.str();
}

std::string fmt(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    if (std::strcmp(buf, "-0") == 0 || (buf[0] == '-' && std::strspn(buf + 1, "0.") == std::strlen(buf + 1)))
        return std::string(buf + 1);  // no "-0.000000": the sign of a rounded zero is noise
    return buf;
}

std::string fmt_sci(double v, int digits) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*e", digits, v);
    return buf;
}

// ---------------------------------------------------------------------------------------------
// Table
// ---------------------------------------------------------------------------------------------
Table::Table(std::vector<std::string> columns) : columns_(std::move(columns)) {}

void Table::add_row(std::vector<std::string> cells) {
    if (cells.size() != columns_.size())
        fail("Table: row has " + std::to_string(cells.size()) + " cells, table has " + std::to_string(columns_.size()) +
             " columns");
    rows_.push_back(std::move(cells));
}

namespace {

bool is_number(const std::string& s) {
    if (s.empty()) return false;
    char* end = nullptr;
    std::strtod(s.c_str(), &end);
    return *end == '\0';
}

}  // namespace

void Table::print(const std::string& title, FILE* out) const {
    // Columns of numbers are right-aligned (digits line up), columns of words left-aligned.
    std::vector<size_t> width(columns_.size());
    std::vector<bool> numeric(columns_.size(), true);
    for (size_t c = 0; c < columns_.size(); ++c) {
        width[c] = columns_[c].size();
        for (const auto& r : rows_) {
            width[c] = std::max(width[c], r[c].size());
            numeric[c] = numeric[c] && is_number(r[c]);
        }
    }
    if (!title.empty()) std::fprintf(out, "%s\n", title.c_str());
    auto line = [&](const std::vector<std::string>& cells) {
        for (size_t c = 0; c < cells.size(); ++c) {
            const int w = numeric[c] ? int(width[c]) : -int(width[c]);
            const bool last = c + 1 == cells.size();
            if (last && !numeric[c]) std::fprintf(out, "%s%s", c ? "  " : "", cells[c].c_str());
            else std::fprintf(out, "%s%*s", c ? "  " : "", w, cells[c].c_str());
        }
        std::fprintf(out, "\n");
    };
    line(columns_);
    size_t total = 0;
    for (size_t w : width) total += w;
    std::fprintf(out, "%s\n", std::string(total + 2 * (width.size() - 1), '-').c_str());
    for (const auto& r : rows_) line(r);
    std::fprintf(out, "\n");
    std::fflush(out);
}

void Table::save_tsv(const std::string& path) const {
    std::string s;
    auto line = [&](const std::vector<std::string>& cells) {
        for (size_t c = 0; c < cells.size(); ++c) s += (c ? "\t" : "") + cells[c];
        s += "\n";
    };
    line(columns_);
    for (const auto& r : rows_) line(r);
    write_file_atomic(path, s);
}

}  // namespace ddpm
