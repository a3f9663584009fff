#include "core/io.h"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>

#include "core/common.h"

namespace ddpm {

void make_dirs(const std::string& dir) {
    if (dir.empty()) return;
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) fail(dir + ": cannot create directory: " + ec.message());
}

namespace {

// The temporary names of this process: "<path>.<tag>-<n>.tmp".
std::mutex g_temp_mutex;
std::string g_temp_tag;
uint64_t g_temp_count = 0;

// The file being written, for a signal handler: the name is copied in before the flag is raised.
char g_in_progress[4096];
volatile std::sig_atomic_t g_writing = 0;

std::string random_tag() {
    std::random_device device;
    const uint64_t r = (uint64_t(device()) << 32) ^ uint64_t(device());
    char buf[40];
    std::snprintf(buf, sizeof buf, "tmp%016llx", (unsigned long long)r);
    return buf;
}

// What a path that exists but is not a regular file is, for a message.
std::string kind_of(const std::filesystem::file_status& st) {
    using std::filesystem::file_type;
    switch (st.type()) {
        case file_type::directory: return "a directory";
        case file_type::symlink: return "a symbolic link";
        case file_type::fifo: return "a FIFO";
        case file_type::character: return "a character device";
        case file_type::block: return "a block device";
        case file_type::socket: return "a socket";
        default: return "not a regular file";
    }
}

}  // namespace

void set_temp_tag(const std::string& tag) {
    std::lock_guard<std::mutex> lock(g_temp_mutex);
    g_temp_tag = tag;
}

std::string side_file_stem(const std::string& path) {
    const std::filesystem::path p(path);
    const std::string name = p.filename().string();
    if (name.size() <= 200) return path;
    uint64_t h = 1469598103934665603ull;  // FNV-1a, 64 bits
    for (char c : name) h = (h ^ uint8_t(c)) * 1099511628211ull;
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", (unsigned long long)h);
    return (p.parent_path() / (name.substr(0, 180) + "~" + hex)).string();
}

std::string temp_path_for(const std::string& path) {
    std::lock_guard<std::mutex> lock(g_temp_mutex);
    if (g_temp_tag.empty()) g_temp_tag = random_tag();
    return side_file_stem(path) + "." + g_temp_tag + "-" + std::to_string(++g_temp_count) + ".tmp";
}

void set_in_progress(const std::string& tmp) {
    if (tmp.size() >= sizeof g_in_progress) return;  // too long to keep: a signal leaves it (not ours to lose)
    std::memcpy(g_in_progress, tmp.c_str(), tmp.size() + 1);
    std::atomic_signal_fence(std::memory_order_seq_cst);
    g_writing = 1;
}

void clear_in_progress() {
    g_writing = 0;
    std::atomic_signal_fence(std::memory_order_seq_cst);
}

const char* temp_file_in_progress() { return g_writing ? g_in_progress : ""; }

void write_file_atomic(const std::string& path, const std::string& bytes) {
    std::filesystem::path p(path);
    std::error_code ec;
    const std::filesystem::file_status st = std::filesystem::symlink_status(p, ec);
    if (!ec && std::filesystem::exists(st) && !std::filesystem::is_regular_file(st)) {
        if (std::filesystem::is_directory(st)) fail(path + ": is a directory, not a file");
        fail(path + ": is " + kind_of(st) + ", not a regular file; only regular files are replaced");
    }
    if (p.has_parent_path()) make_dirs(p.parent_path().string());
    const std::string tmp = temp_path_for(path);
    set_in_progress(tmp);
    FILE* f = std::fopen(tmp.c_str(), "wbx");  // x: a new file, never one that exists
    if (!f) {
        const int e = errno;
        clear_in_progress();
        fail(path + ": cannot write: " + std::strerror(e));
    }
    size_t written = std::fwrite(bytes.data(), 1, bytes.size(), f);
    bool ok = written == bytes.size() && std::fflush(f) == 0;
    ok = (std::fclose(f) == 0) && ok;
    if (!ok) {
        std::remove(tmp.c_str());
        clear_in_progress();
        fail(path + ": write failed (disk full?)");
    }
    // A file that is replaced keeps its permissions (a private 0600 model stays private); its owner is
    // the writer's, as a rename gives.
    if (!ec && std::filesystem::is_regular_file(st)) {
        std::error_code perm_ec;
        std::filesystem::permissions(tmp, st.permissions(), std::filesystem::perm_options::replace, perm_ec);
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        const int e = errno;
        std::remove(tmp.c_str());
        clear_in_progress();
        fail(path + ": cannot rename from " + tmp + ": " + std::strerror(e));
    }
    clear_in_progress();
}

std::string read_file(const std::string& path, int64_t max_bytes) {
    std::error_code ec;
    const std::filesystem::file_status st = std::filesystem::status(path, ec);
    if (!ec && std::filesystem::is_directory(st)) fail(path + ": is a directory, not a file");
    if (!ec && std::filesystem::exists(st) && !std::filesystem::is_regular_file(st))
        fail(path + ": is " + kind_of(st) + ", not a regular file; only regular files are read");
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(path + ": cannot open: " + std::strerror(errno));
    std::string out;
    char buf[1 << 16];
    while (in) {
        in.read(buf, sizeof buf);
        out.append(buf, size_t(in.gcount()));
        if (int64_t(out.size()) > max_bytes)
            fail(path + ": larger than " + std::to_string(max_bytes) + " bytes, the most that is read");
    }
    if (in.bad()) fail(path + ": read error");
    return out;
}

std::string fmt_g(double v, int digits) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    return buf;
}

std::string fmt_exact(double v) { return fmt_g(v, 17); }

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
