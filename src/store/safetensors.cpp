#include "store/safetensors.h"

#include <algorithm>
#include <cstring>
#include <unordered_set>
#include <vector>

#include "core/common.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors data are little-endian");

namespace ddpm {

namespace {

const char kMetadataKey[] = "__metadata__";
const int64_t kMaxValues = int64_t(1) << 31;  // values in one tensor, as in a checkpoint

// Length of the UTF-8 sequence starting at s[i] (1 to 4), or 0 when it is not well formed
// (overlong forms, surrogates and code points above U+10FFFF are refused, as RFC 3629 says).
size_t utf8_length(const std::string& s, size_t i) {
    const auto byte = [&](size_t k) { return k < s.size() ? (unsigned char)s[k] : 0u; };
    const unsigned c = byte(i);
    const auto cont = [&](size_t k) { return (byte(k) & 0xC0u) == 0x80u; };
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) return cont(i + 1) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        const unsigned c1 = byte(i + 1);
        if (c == 0xE0 && c1 < 0xA0) return 0;  // overlong
        if (c == 0xED && c1 >= 0xA0) return 0;  // a surrogate
        return cont(i + 1) && cont(i + 2) ? 3 : 0;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        const unsigned c1 = byte(i + 1);
        if (c == 0xF0 && c1 < 0x90) return 0;  // overlong
        if (c == 0xF4 && c1 >= 0x90) return 0;  // above U+10FFFF
        return cont(i + 1) && cont(i + 2) && cont(i + 3) ? 4 : 0;
    }
    return 0;
}

bool is_utf8(const std::string& s) {
    for (size_t i = 0; i < s.size();) {
        const size_t n = utf8_length(s, i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

// A JSON string (RFC 8259): quotes, backslashes and control bytes escaped, the rest as it is.
void put_json_string(std::string& out, const std::string& s, const std::string& what) {
    if (!is_utf8(s)) fail("safetensors: " + what + " '" + shown(s) + "' is not UTF-8 text (a JSON header holds text only)");
    out += '"';
    for (char ch : s) {
        const unsigned char c = (unsigned char)ch;
        if (c == '"') out += "\\\"";
        else if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else if (c == '\t') out += "\\t";
        else if (c == '\r') out += "\\r";
        else if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else out += ch;
    }
    out += '"';
}

// ---- the header's reader: the JSON of the format and nothing more ------------------------------
struct TensorEntry {
    std::string name;
    std::vector<int> dims;
    uint64_t begin = 0, end = 0;
    size_t at = 0;  // offset of its entry in the file, for messages
};

struct HeaderReader {
    const std::string& text;  // the header
    const std::string& source;
    size_t pos = 0;

    [[noreturn]] void error(const std::string& what, size_t at) const {
        fail(source + ": offset " + std::to_string(8 + at) + ": " + what);
    }
    [[noreturn]] void error(const std::string& what) const { error(what, pos); }

    void skip_ws() {
        while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t' || text[pos] == '\n' || text[pos] == '\r'))
            ++pos;
    }
    bool at_char(char c) {
        skip_ws();
        return pos < text.size() && text[pos] == c;
    }
    void expect(char c, const char* what) {
        skip_ws();
        if (pos >= text.size()) error(std::string("the header ends where ") + what + " should be (truncated?)");
        if (text[pos] != c) error(std::string("expected ") + what + ", found " + describe_here());
        ++pos;
    }
    std::string describe_here() const {
        if (pos >= text.size()) return "the end of the header";
        const unsigned char c = (unsigned char)text[pos];
        if (c >= 0x20 && c < 0x7F) return std::string("'") + char(c) + "'";
        return "byte " + std::to_string(unsigned(c));
    }

    static int hex(char c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    }
    unsigned u4() {  // the four hex digits after \u
        if (text.size() - pos < 4) error("the header ends inside a \\u escape");
        unsigned v = 0;
        for (int k = 0; k < 4; ++k) {
            const int h = hex(text[pos + size_t(k)]);
            if (h < 0) error("a \\u escape needs four hexadecimal digits");
            v = v * 16 + unsigned(h);
        }
        pos += 4;
        return v;
    }
    static void put_utf8(std::string& out, unsigned cp) {
        if (cp < 0x80) out += char(cp);
        else if (cp < 0x800) {
            out += char(0xC0 | (cp >> 6));
            out += char(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out += char(0xE0 | (cp >> 12));
            out += char(0x80 | ((cp >> 6) & 0x3F));
            out += char(0x80 | (cp & 0x3F));
        } else {
            out += char(0xF0 | (cp >> 18));
            out += char(0x80 | ((cp >> 12) & 0x3F));
            out += char(0x80 | ((cp >> 6) & 0x3F));
            out += char(0x80 | (cp & 0x3F));
        }
    }

    std::string string(const char* what) {
        expect('"', what);
        std::string out;
        for (;;) {
            if (pos >= text.size()) error(std::string("the header ends inside ") + what + " (truncated?)");
            const unsigned char c = (unsigned char)text[pos];
            if (c == '"') {
                ++pos;
                break;
            }
            if (c < 0x20) error(std::string("a control byte inside ") + what + " (JSON needs it escaped)");
            if (c == '\\') {
                if (++pos >= text.size()) error(std::string("the header ends inside ") + what);
                const char e = text[pos++];
                switch (e) {
                    case '"': out += '"'; break;
                    case '\\': out += '\\'; break;
                    case '/': out += '/'; break;
                    case 'b': out += '\b'; break;
                    case 'f': out += '\f'; break;
                    case 'n': out += '\n'; break;
                    case 'r': out += '\r'; break;
                    case 't': out += '\t'; break;
                    case 'u': {
                        unsigned cp = u4();
                        if (cp >= 0xDC00 && cp <= 0xDFFF) error("a \\u escape of a lone low surrogate");
                        if (cp >= 0xD800 && cp <= 0xDBFF) {
                            if (text.size() - pos < 2 || text[pos] != '\\' || text[pos + 1] != 'u')
                                error("a \\u escape of a high surrogate without its low half");
                            pos += 2;
                            const unsigned lo = u4();
                            if (lo < 0xDC00 || lo > 0xDFFF) error("a \\u escape of a high surrogate without its low half");
                            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                        }
                        put_utf8(out, cp);
                        break;
                    }
                    default: --pos; error(std::string("an unknown escape '\\") + (e >= 0x20 && e < 0x7F ? std::string(1, e) : "?") + "'");
                }
            } else {
                const size_t n = utf8_length(text, pos);
                if (n == 0) error(std::string("bytes that are not UTF-8 inside ") + what);
                out.append(text, pos, n);
                pos += n;
            }
            if (out.size() > kMaxCheckpointString)
                error(std::string(what) + " longer than the " + std::to_string(kMaxCheckpointString) + " bytes a checkpoint holds");
        }
        return out;
    }

    // A JSON number that must be a whole number >= 0 (no sign, fraction or exponent) up to `hi`.
    uint64_t whole(const char* what, uint64_t hi) {
        skip_ws();
        const size_t start = pos;
        if (pos >= text.size() || text[pos] < '0' || text[pos] > '9')
            error(std::string("expected ") + what + " (a whole number >= 0), found " + describe_here());
        uint64_t v = 0;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            const uint64_t d = uint64_t(text[pos] - '0');
            if (v > (hi - d) / 10) error(std::string(what) + " is larger than " + std::to_string(hi), start);
            v = v * 10 + d;
            ++pos;
        }
        if (pos - start > 1 && text[start] == '0') error(std::string(what) + " has a leading zero (not JSON)", start);
        if (pos < text.size() && (text[pos] == '.' || text[pos] == 'e' || text[pos] == 'E'))
            error(std::string(what) + " is not a whole number", start);
        return v;
    }

    void metadata(Checkpoint& ckpt) {
        expect('{', "'{' opening __metadata__ (an object of strings)");
        std::unordered_set<std::string> keys;
        if (at_char('}')) {
            ++pos;
            return;
        }
        for (;;) {
            skip_ws();
            const size_t at = pos;
            std::string key = string("a metadata key");
            expect(':', "':' after a metadata key");
            skip_ws();
            if (pos < text.size() && text[pos] != '"')
                error("the value of metadata '" + shown(key) + "' is not a string (__metadata__ maps strings to strings)");
            std::string value = string("a metadata value");
            if (!keys.insert(key).second) error("metadata key '" + shown(key) + "' appears twice", at);
            ckpt.meta.push_back({std::move(key), std::move(value)});
            if (at_char(',')) {
                ++pos;
                continue;
            }
            expect('}', "',' or '}' in __metadata__");
            return;
        }
    }

    void tensor(TensorEntry& e) {
        expect('{', ("'{' opening the entry of tensor '" + shown(e.name) + "'").c_str());
        bool dtype = false, shape = false, offsets = false;
        for (bool first = true;; first = false) {
            if (first && at_char('}')) break;
            skip_ws();
            const size_t at = pos;
            const std::string field = string("a field name");
            expect(':', "':' after a field name");
            if (field == "dtype") {
                if (dtype) error("tensor '" + shown(e.name) + "': field 'dtype' appears twice", at);
                dtype = true;
                skip_ws();
                const size_t vat = pos;
                const std::string d = string("a dtype");
                if (d != "F32")
                    error("tensor '" + shown(e.name) + "' has dtype '" + shown(d) + "' (this reader takes F32 only)", vat);
            } else if (field == "shape") {
                if (shape) error("tensor '" + shown(e.name) + "': field 'shape' appears twice", at);
                shape = true;
                expect('[', "'[' opening a shape");
                if (at_char(']')) ++pos;
                else
                    for (;;) {
                        skip_ws();
                        const size_t dat = pos;
                        const uint64_t d = whole("a dimension", uint64_t(INT32_MAX));
                        if (e.dims.size() == 4) error("tensor '" + shown(e.name) + "' has rank above 4 (1 to 4 allowed)", dat);
                        e.dims.push_back(int(d));
                        if (at_char(',')) {
                            ++pos;
                            continue;
                        }
                        expect(']', "',' or ']' in a shape");
                        break;
                    }
                if (e.dims.empty()) error("tensor '" + shown(e.name) + "' has rank 0 (1 to 4 allowed)", at);
            } else if (field == "data_offsets") {
                if (offsets) error("tensor '" + shown(e.name) + "': field 'data_offsets' appears twice", at);
                offsets = true;
                expect('[', "'[' opening data_offsets");
                e.begin = whole("a data offset", UINT64_MAX);
                expect(',', "',' between the two data offsets");
                e.end = whole("a data offset", UINT64_MAX);
                expect(']', "']' after the two data offsets");
            } else {
                error("tensor '" + shown(e.name) + "' has an unknown field '" + shown(field) +
                          "' (dtype, shape and data_offsets are the fields)",
                      at);
            }
            if (at_char(',')) {
                ++pos;
                continue;
            }
            expect('}', ("',' or '}' in the entry of tensor '" + shown(e.name) + "'").c_str());
            break;
        }
        if (!dtype || !shape || !offsets)
            error("tensor '" + shown(e.name) + "' lacks field '" + (!dtype ? "dtype" : !shape ? "shape" : "data_offsets") + "'", e.at);
    }
};

}  // namespace

std::string serialize_safetensors(const Checkpoint& ckpt) {
    std::string header = "{";
    bool first = true;
    if (!ckpt.meta.empty()) {
        header += "\"__metadata__\":{";
        for (size_t i = 0; i < ckpt.meta.size(); ++i) {
            if (i) header += ',';
            put_json_string(header, ckpt.meta[i].first, "metadata key");
            header += ':';
            put_json_string(header, ckpt.meta[i].second, "the value of metadata '" + shown(ckpt.meta[i].first) + "'");
        }
        header += '}';
        first = false;
    }
    uint64_t offset = 0;
    for (const auto& [name, t] : ckpt.tensors) {
        if (name == kMetadataKey) fail("safetensors: a tensor may not be named __metadata__");
        if (!first) header += ',';
        first = false;
        put_json_string(header, name, "tensor name");
        header += ":{\"dtype\":\"F32\",\"shape\":[";
        for (int d = 0; d < t.ndim(); ++d) header += (d ? "," : "") + std::to_string(t.dim(d));
        const uint64_t bytes = uint64_t(t.numel()) * sizeof(float);
        header += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + bytes) + "]}";
        offset += bytes;
    }
    header += '}';
    while ((8 + header.size()) % 8 != 0) header += ' ';
    if (header.size() > kMaxSafetensorsHeader)
        fail("safetensors: the header would be " + std::to_string(header.size()) + " bytes, more than the " +
             std::to_string(kMaxSafetensorsHeader) + " a reader accepts");
    std::string out;
    out.reserve(8 + header.size() + offset);
    const uint64_t n = header.size();
    out.append(reinterpret_cast<const char*>(&n), 8);
    out += header;
    for (const auto& nt : ckpt.tensors)
        if (nt.second.numel() > 0)
            out.append(reinterpret_cast<const char*>(nt.second.data()), size_t(nt.second.numel()) * sizeof(float));
    return out;
}

bool looks_like_safetensors(const std::string& bytes) {
    if (bytes.size() < 10) return false;
    uint64_t n;
    std::memcpy(&n, bytes.data(), 8);
    return n >= 2 && n <= bytes.size() - 8 && bytes[8] == '{';
}

Checkpoint parse_safetensors(const std::string& bytes, const std::string& source) {
    const auto error = [&](size_t at, const std::string& what) { fail(source + ": offset " + std::to_string(at) + ": " + what); };
    if (bytes.size() < 8) error(0, "file ends inside the header length (" + std::to_string(bytes.size()) + " bytes; truncated?)");
    uint64_t n;
    std::memcpy(&n, bytes.data(), 8);
    if (n > kMaxSafetensorsHeader)
        error(0, "header length " + std::to_string(n) + " is more than the " + std::to_string(kMaxSafetensorsHeader) +
                     " bytes a header may have (not a safetensors file?)");
    if (n > bytes.size() - 8)
        error(0, "header length " + std::to_string(n) + " is more than the " + std::to_string(bytes.size() - 8) +
                     " bytes that follow it (truncated, or not a safetensors file?)");
    if (n < 2) error(0, "header length " + std::to_string(n) + " is too short for a JSON object");
    const std::string text = bytes.substr(8, size_t(n));
    const size_t data_start = 8 + size_t(n);
    const uint64_t data_size = bytes.size() - data_start;

    HeaderReader r{text, source};
    if (text[0] != '{') r.error("the header does not start with '{' (not a safetensors file?)");
    Checkpoint ckpt;
    std::vector<TensorEntry> entries;
    std::unordered_set<std::string> names;
    bool have_meta = false;
    r.expect('{', "'{'");
    if (r.at_char('}')) ++r.pos;
    else
        for (;;) {
            r.skip_ws();
            const size_t at = r.pos;
            std::string key = r.string("a tensor name");
            r.expect(':', "':' after a tensor name");
            if (key == kMetadataKey) {
                if (have_meta) r.error("__metadata__ appears twice", at);
                have_meta = true;
                r.metadata(ckpt);
            } else {
                if (!names.insert(key).second) r.error("tensor '" + shown(key) + "' appears twice", at);
                TensorEntry e;
                e.name = std::move(key);
                e.at = at;
                r.tensor(e);
                entries.push_back(std::move(e));
            }
            if (r.at_char(',')) {
                ++r.pos;
                continue;
            }
            r.expect('}', "',' or '}' after an entry of the header");
            break;
        }
    r.skip_ws();
    if (r.pos != text.size()) r.error("bytes after the header's closing '}' (only spaces may follow it)");

    // The byte ranges: each the size of its shape, inside the data, together covering it exactly.
    for (const TensorEntry& e : entries) {
        int64_t numel = 1;
        for (int d : e.dims) {
            numel *= int64_t(d);
            if (numel > kMaxValues) r.error("tensor '" + shown(e.name) + "' has more than 2^31 values", e.at);
        }
        if (e.end < e.begin)
            r.error("tensor '" + shown(e.name) + "' has data_offsets [" + std::to_string(e.begin) + ", " +
                        std::to_string(e.end) + "): the end is before the beginning",
                    e.at);
        if (e.end > data_size)
            r.error("tensor '" + shown(e.name) + "' has data_offsets [" + std::to_string(e.begin) + ", " +
                        std::to_string(e.end) + "), past the " + std::to_string(data_size) + " bytes of data",
                    e.at);
        if (e.end - e.begin != uint64_t(numel) * sizeof(float))
            r.error("tensor '" + shown(e.name) + "' has data_offsets [" + std::to_string(e.begin) + ", " +
                        std::to_string(e.end) + ") of " + std::to_string(e.end - e.begin) + " bytes; its F32 shape needs " +
                        std::to_string(uint64_t(numel) * sizeof(float)),
                    e.at);
    }
    std::vector<size_t> order(entries.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return entries[a].begin != entries[b].begin ? entries[a].begin < entries[b].begin : entries[a].end < entries[b].end;
    });
    uint64_t covered = 0;
    const TensorEntry* last = nullptr;
    for (size_t i : order) {
        const TensorEntry& e = entries[i];
        if (e.begin < covered)
            r.error("tensor '" + shown(e.name) + "' has data_offsets [" + std::to_string(e.begin) + ", " +
                        std::to_string(e.end) + ") overlapping those of tensor '" + shown(last->name) + "'",
                    e.at);
        if (e.begin > covered)
            r.error("tensor '" + shown(e.name) + "' starts at byte " + std::to_string(e.begin) + " of the data, leaving bytes " +
                        std::to_string(covered) + " to " + std::to_string(e.begin) + " that no tensor covers",
                    e.at);
        covered = e.end;
        last = &e;
    }
    if (covered != data_size)
        error(data_start + size_t(covered), std::to_string(data_size - covered) + " bytes of data after the last tensor's");

    for (const TensorEntry& e : entries) {
        const size_t count = size_t((e.end - e.begin) / sizeof(float));
        std::vector<float> values(count);
        if (count > 0) std::memcpy(values.data(), bytes.data() + data_start + size_t(e.begin), count * sizeof(float));
        ckpt.tensors.push_back({e.name, Tensor::from(Shape::of(e.dims), std::move(values))});
    }
    return ckpt;
}

}  // namespace ddpm
