#include "core/common.h"

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace ddpm {

void not_implemented(const char* task_id, const char* where) {
    throw NotImplemented(std::string("not implemented: ") + task_id + " (see " + where + ")");
}

void fail(const std::string& message) { throw std::runtime_error(message); }

std::string shown(const std::string& text, size_t max) {
    std::string out = text.size() > max && max >= 3 ? text.substr(0, max - 3) + "..." : text.substr(0, max);
    for (char& c : out)
        if ((unsigned char)c < 32 || c == 127) c = '?';
    return out;
}

int64_t parse_int(const std::string& text, int64_t lo, int64_t hi, const std::string& what) {
    errno = 0;
    char* end = nullptr;
    long long v = std::strtoll(text.c_str(), &end, 10);
    // strtoll skips leading white space; a number here has none, before it or after it
    if (text.empty() || std::isspace((unsigned char)text[0]) || *end != '\0' || errno == ERANGE)
        fail(what + ": expected a whole number, got '" + text + "'");
    if (v < lo || v > hi)
        fail(what + ": " + text + " is out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return v;
}

std::string terminal_text(const std::string& text, size_t max) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
        const unsigned char b = (unsigned char)text[i];
        // the length of a well-formed UTF-8 sequence starting here (RFC 3629), or 0
        size_t n = b < 0x80 ? 1 : (b & 0xe0) == 0xc0 ? 2 : (b & 0xf0) == 0xe0 ? 3 : (b & 0xf8) == 0xf0 ? 4 : 0;
        uint32_t cp = n == 1 ? b : n == 2 ? (b & 0x1fu) : n == 3 ? (b & 0x0fu) : (b & 0x07u);
        for (size_t k = 1; k < n; ++k) {
            if (i + k >= text.size() || ((unsigned char)text[i + k] & 0xc0) != 0x80) {
                n = 0;
                break;
            }
            cp = (cp << 6) | ((unsigned char)text[i + k] & 0x3fu);
        }
        const uint32_t least[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (n > 1 && (cp < least[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))) n = 0;
        if (n == 0 || (n == 1 && (b < 32 || b == 127))) {
            out += '?';
            ++i;
        } else {
            out.append(text, i, n);
            i += n;
        }
    }
    if (out.size() <= max || max < 16) return out;
    // cut at sequence starts, so that no character is split
    size_t head = max / 2, tail = out.size() - max / 2;
    while (head > 0 && ((unsigned char)out[head] & 0xc0) == 0x80) --head;
    while (tail < out.size() && ((unsigned char)out[tail] & 0xc0) == 0x80) ++tail;
    return out.substr(0, head) + " ... " + out.substr(tail);
}

int run_main(const char* program, int (*body)(int, char**), int argc, char** argv) {
    try {
        return body(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: %s\n", program, terminal_text(e.what()).c_str());
        return 1;
    }
}

}  // namespace ddpm
