#include "store/csv.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "core/common.h"
#include "core/io.h"
#include "store/settings.h"

namespace ddpm {

namespace {

// "1 field", "3 fields"
std::string count_of(size_t count, const std::string& noun) {
    return std::to_string(count) + " " + noun + (count == 1 ? "" : "s");
}

std::string quoted(const std::string& text) { return "'" + shown(text) + "'"; }

// The lines of a file's bytes, one at a time, so that memory stays proportional to one line (a file of
// a million blank lines costs nothing). A line is given without its "\n" or "\r\n"; a UTF-8
// byte-order mark at the start (Excel writes one) is skipped.
class LineReader {
 public:
    explicit LineReader(const std::string& bytes)
        : bytes_(bytes), pos_(bytes.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0) {}

    // The next line in `text`, or false at the end of the bytes.
    bool next(std::string& text) {
        if (pos_ >= bytes_.size()) return false;
        size_t end = bytes_.find('\n', pos_);
        if (end == std::string::npos) end = bytes_.size();
        text.assign(bytes_, pos_, end - pos_);
        if (!text.empty() && text.back() == '\r') text.pop_back();
        pos_ = end + 1;
        ++number_;
        return true;
    }
    int64_t number() const { return number_; }  // of the line last given, from 1 as an editor shows it

 private:
    const std::string& bytes_;
    size_t pos_;
    int64_t number_ = 0;
};

bool is_space(char c) { return c == ' ' || c == '\t'; }

bool is_blank(const std::string& text) {
    for (char c : text)
        if (!is_space(c)) return false;
    return true;
}

bool has_control_byte(const std::string& text) {
    for (char c : text)
        if ((unsigned char)c < 32 || c == 127) return true;
    return false;
}

// Whether text is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF).
// A header name goes into a checkpoint's text and a safetensors file's JSON, which take UTF-8 only.
bool is_utf8(const std::string& text) {
    size_t i = 0;
    while (i < text.size()) {
        const unsigned char b = (unsigned char)text[i];
        int more = 0;
        uint32_t cp = 0;
        if (b < 0x80) { ++i; continue; }
        else if ((b & 0xe0) == 0xc0) more = 1, cp = b & 0x1f;
        else if ((b & 0xf0) == 0xe0) more = 2, cp = b & 0x0f;
        else if ((b & 0xf8) == 0xf0) more = 3, cp = b & 0x07;
        else return false;
        if (i + size_t(more) >= text.size()) return false;  // cut short
        for (int k = 1; k <= more; ++k) {
            const unsigned char c = (unsigned char)text[i + size_t(k)];
            if ((c & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (c & 0x3f);
        }
        const uint32_t least[4] = {0, 0x80, 0x800, 0x10000};
        if (cp < least[more] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += size_t(more) + 1;
    }
    return true;
}

// text with every byte outside printable ASCII as \xNN, for a message about bytes that are not text.
std::string escaped(const std::string& text, size_t max = 40) {
    std::string out;
    for (size_t i = 0; i < text.size() && i < max; ++i) {
        const unsigned char b = (unsigned char)text[i];
        if (b >= 32 && b < 127) {
            out += char(b);
        } else {
            char hex[5];
            std::snprintf(hex, sizeof hex, "\\x%02x", b);
            out += hex;
        }
    }
    return text.size() > max ? out + "..." : out;
}

// The fields between commas, without the spaces around them.
std::vector<std::string> split_fields(const std::string& text) {
    std::vector<std::string> fields;
    size_t begin = 0;
    while (true) {
        size_t end = text.find(',', begin);
        if (end == std::string::npos) end = text.size();
        size_t first = begin, last = end;
        while (first < last && is_space(text[first])) ++first;
        while (last > first && is_space(text[last - 1])) --last;
        fields.push_back(text.substr(first, last - first));
        if (end == text.size()) return fields;
        begin = end + 1;
    }
}

enum class FieldStatus { Ok, Empty, NotANumber, NaN, Infinite, OutOfRange };

// strtof rounds the decimal text straight to the nearest float (no double rounding through double)
// and reports overflow with ERANGE; an underflow to 0 or to a subnormal is accepted as the nearest float.
FieldStatus parse_float(const std::string& field, float& value) {
    if (field.empty()) return FieldStatus::Empty;
    errno = 0;
    char* end = nullptr;
    value = std::strtof(field.c_str(), &end);
    if (end != field.c_str() + field.size()) return FieldStatus::NotANumber;
    if (std::isnan(value)) return FieldStatus::NaN;
    if (std::isinf(value)) return errno == ERANGE ? FieldStatus::OutOfRange : FieldStatus::Infinite;
    return FieldStatus::Ok;
}

// A field that reads as a number, even one refused as data ("nan", "inf", "1e99").
bool reads_as_number(const std::string& field) {
    float ignored = 0.0f;
    const FieldStatus status = parse_float(field, ignored);
    return status != FieldStatus::Empty && status != FieldStatus::NotANumber;
}

bool is_name(const std::string& field) {
    float ignored = 0.0f;
    return parse_float(field, ignored) == FieldStatus::NotANumber;
}

std::string describe(FieldStatus status, const std::string& field) {
    switch (status) {
        case FieldStatus::Ok: return "ok";
        case FieldStatus::Empty: return "empty field";
        case FieldStatus::NotANumber: return quoted(field) + " is not a number";
        case FieldStatus::NaN: return quoted(field) + " is NaN";
        case FieldStatus::Infinite: return quoted(field) + " is infinite";
        case FieldStatus::OutOfRange: return quoted(field) + " is outside the float range";
    }
    return "?";
}

// Line 1: a header (names and perhaps empty fields, no number), data (no name), or an error: a line
// of both, such as a typo in the first row ("1.2.3,4"), is neither.
bool header_line(const std::vector<std::string>& fields, const std::string& at) {
    size_t first_name = fields.size(), first_number = fields.size();
    for (size_t c = 0; c < fields.size(); ++c) {
        if (first_name == fields.size() && is_name(fields[c])) first_name = c;
        if (first_number == fields.size() && reads_as_number(fields[c])) first_number = c;
    }
    if (first_name == fields.size()) return false;
    if (first_number != fields.size())
        fail(at + "column " + std::to_string(first_name + 1) + ": " + quoted(fields[first_name]) +
             " is not a number, but column " + std::to_string(first_number + 1) + " " + quoted(fields[first_number]) +
             " is (a header line holds names only)");
    for (size_t c = 0; c < fields.size(); ++c) {
        if (has_control_byte(fields[c]))
            fail(at + "column " + std::to_string(c + 1) + ": header name " + quoted(fields[c]) + " holds a control byte");
        if (!is_utf8(fields[c]))
            fail(at + "column " + std::to_string(c + 1) + ": header name '" + escaped(fields[c]) +
                 "' is not UTF-8 text (a checkpoint and a safetensors file hold UTF-8 names only)");
        if (int64_t(fields[c].size()) > kMaxHeaderName)
            fail(at + "column " + std::to_string(c + 1) + ": header name of " + std::to_string(fields[c].size()) +
                 " bytes; at most " + std::to_string(kMaxHeaderName));
    }
    return true;
}

}  // namespace

Dataset load_csv(const std::string& path, int64_t max_rows) {
    Dataset d = parse_csv(read_file(path, kMaxInputBytes), path, max_rows);  // read_file: "<path>: cannot open: ..."
    d.name = std::filesystem::path(path).filename().string();
    return d;
}

Dataset parse_csv(const std::string& bytes, const std::string& path, int64_t max_rows) {
    auto at = [&](int64_t line) { return path + ":" + std::to_string(line) + ": "; };
    const int64_t max_columns = setting::columns.hi;
    const int64_t row_limit =
        max_rows < 0 ? INT32_MAX : std::min<int64_t>(max_rows, INT32_MAX);  // Dataset::n() is an int
    if (bytes.compare(0, 8, std::string("\x89PNG\r\n\x1a\n", 8)) == 0)  // issue 33.11
        fail(path + ": a PNG image, not CSV rows; image training takes a folder of PNG files, with --arch cnn or unet");
    LineReader lines(bytes);
    std::string text;
    // Blank lines are allowed at the end only: one is reported when a line with content follows it.
    int64_t blank = 0;  // the first blank line since the last line with content, or 0
    bool have_line_1 = false;
    size_t width = 0;   // every line must have as many fields as line 1
    int64_t rows = 0;
    Dataset d;
    d.name = path;
    while (lines.next(text)) {
        if (is_blank(text)) {
            if (blank == 0) blank = lines.number();
            continue;
        }
        if (blank != 0) fail(at(blank) + "blank line (blank lines are allowed only at the end of the file)");
        if (!have_line_1) {  // the common files that are not comma-separated values, named (issue 33.11)
            const size_t cr = text.find('\r');
            if (cr != std::string::npos && cr + 1 < text.size())
                fail(at(lines.number()) + "lines end in a carriage return alone (an old Mac text file?); the tool reads "
                                          "lines that end in LF or CR LF");
            if (text.find(',') == std::string::npos) {
                if (text.find('\t') != std::string::npos)
                    fail(at(lines.number()) + "fields separated by tabs (a TSV file?); the tool reads comma-separated values");
                if (text.find(';') != std::string::npos)
                    fail(at(lines.number()) + "fields separated by semicolons; the tool reads comma-separated values "
                                              "(with '.' as the decimal point)");
            }
        }
        std::vector<std::string> fields = split_fields(text);
        if (!have_line_1) {
            have_line_1 = true;
            width = fields.size();
            if (int64_t(width) > max_columns)
                fail(path + ": " + std::to_string(width) + " columns; the tool takes at most " +
                     std::to_string(max_columns));
            d.dim = int(width);
            if (header_line(fields, at(lines.number()))) {
                d.header = std::move(fields);
                continue;
            }
        }
        if (fields.size() != width)
            fail(at(lines.number()) + count_of(fields.size(), "field") + " where line 1 has " + std::to_string(width));
        if (rows >= row_limit)
            fail(at(lines.number()) + "more than " + std::to_string(row_limit) + " rows; the most that is read");
        if (int64_t(d.x.size() + width) > kMaxCsvValues)
            fail(at(lines.number()) + "more than " + std::to_string(kMaxCsvValues) +
                 " values (rows x columns); the most that is read");
        for (size_t c = 0; c < width; ++c) {
            float value = 0.0f;
            const FieldStatus status = parse_float(fields[c], value);
            if (status != FieldStatus::Ok)
                fail(at(lines.number()) + "column " + std::to_string(c + 1) + ": " + describe(status, fields[c]));
            d.x.push_back(value);
        }
        ++rows;
    }
    if (!have_line_1) fail(path + ": empty file");
    if (rows == 0) fail(path + ": only a header line, no data rows");
    return d;
}

std::string header_problem(const std::vector<std::string>& names, int columns) {
    if (int64_t(names.size()) != columns)
        return "header has " + count_of(names.size(), "name") + " for " + count_of(size_t(columns), "column");
    bool any_name = false;
    for (const std::string& name : names) {
        if (name.find(',') != std::string::npos) return "header name " + quoted(name) + " contains a comma";
        if (has_control_byte(name)) return "header name " + quoted(name) + " holds a control byte";
        if (!is_utf8(name)) return "header name '" + escaped(name) + "' is not UTF-8 text";
        if (int64_t(name.size()) > kMaxHeaderName)
            return "a header name of " + std::to_string(name.size()) + " bytes; at most " + std::to_string(kMaxHeaderName);
        if (!name.empty() && (is_space(name.front()) || is_space(name.back())))
            return "header name " + quoted(name) + " begins or ends with a space";
        if (reads_as_number(name)) return "header name " + quoted(name) + " reads as a number";
        any_name = any_name || !name.empty();
    }
    if (!any_name) return "header names are all empty";
    return "";
}

void save_csv(const std::string& path, const Dataset& d, const std::vector<std::string>& header) {
    check_dataset(d, "save_csv " + path);
    const std::vector<std::string>& names = header.empty() ? d.header : header;
    if (!names.empty()) {
        const std::string problem = header_problem(names, d.dim);
        if (!problem.empty()) fail(path + ": " + problem);
    }
    std::string out;
    for (size_t c = 0; c < names.size(); ++c) out += names[c] + (c + 1 < names.size() ? "," : "\n");
    // "%.9g": 9 significant digits are enough for every float to read back to the same bits.
    char buf[32];
    for (int i = 0; i < d.n(); ++i)
        for (int c = 0; c < d.dim; ++c) {
            const float v = d.at(i, c);
            if (!std::isfinite(v))
                fail(path + ": row " + std::to_string(i + 1) + " column " + std::to_string(c + 1) + " is " +
                     fmt_g(v) + "; a CSV of ours holds finite numbers only");
            std::snprintf(buf, sizeof buf, "%.9g", double(v));
            out += buf;
            out += c + 1 < d.dim ? ',' : '\n';
        }
    write_file_atomic(path, out);
}

}  // namespace ddpm
