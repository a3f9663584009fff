#include "store/checkpoint.h"

#include <cstdint>
#include <cstring>
#include <unordered_set>

#include "core/common.h"
#include "core/io.h"
#include "store/safetensors.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the checkpoint format is written little-endian");

namespace ddpm {

namespace {

const char kMagic[8] = {'D', 'D', 'P', 'M', 'C', 'K', 'P', 'T'};
const uint32_t kVersion = 1;
const int64_t kMaxValues = int64_t(1) << 31; // values in one tensor

void put_u32(std::string& out, uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); }
void put_string(std::string& out, const std::string& s, const char* what) {
    if (s.size() > kMaxCheckpointString)
        fail(std::string("checkpoint: ") + what + " '" + shown(s) + "' of " + std::to_string(s.size()) +
             " bytes is longer than the " + std::to_string(kMaxCheckpointString) + " a checkpoint holds");
    put_u32(out, uint32_t(s.size()));
    out += s;
}

// Reads from a byte string; every failure names the source and the offset.
struct Reader {
    const std::string& bytes;
    const std::string& source;
    size_t pos = 0;

    [[noreturn]] void error(const std::string& what) const {
        fail(source + ": offset " + std::to_string(pos) + ": " + what);
    }
    void need(size_t n, const char* what) const {
        if (bytes.size() - pos < n) error(std::string("file ends inside ") + what + " (truncated?)");
    }
    uint32_t u32(const char* what) {
        need(4, what);
        uint32_t v;
        std::memcpy(&v, bytes.data() + pos, 4);
        pos += 4;
        return v;
    }
    std::string str(const char* what) {
        uint32_t n = u32(what);
        if (n > kMaxCheckpointString) error(std::string(what) + " length " + std::to_string(n) + " is implausible");
        need(n, what);
        std::string s = bytes.substr(pos, n);
        pos += n;
        return s;
    }
};

}  // namespace

uint64_t fnv1a64(const char* data, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; ++i) {
        h ^= uint8_t(data[i]);
        h *= 0x100000001b3ull;
    }
    return h;
}

// ---------------------------------------------------------------------------------------------
// Checkpoint accessors
// ---------------------------------------------------------------------------------------------
void Checkpoint::set_meta(const std::string& key, const std::string& value) {
    for (auto& kv : meta)
        if (kv.first == key) {
            kv.second = value;
            return;
        }
    meta.push_back({key, value});
}

bool Checkpoint::has_meta(const std::string& key) const {
    for (const auto& kv : meta)
        if (kv.first == key) return true;
    return false;
}

std::string Checkpoint::get_meta(const std::string& key) const {
    for (const auto& kv : meta)
        if (kv.first == key) return kv.second;
    fail("checkpoint has no entry '" + key + "'");
}

void Checkpoint::add_tensor(const std::string& name, const Tensor& t) {
    if (find_tensor(name)) fail("checkpoint: tensor '" + name + "' added twice");
    tensors.push_back({name, t});
}

const Tensor* Checkpoint::find_tensor(const std::string& name) const {
    for (const auto& nt : tensors)
        if (nt.first == name) return &nt.second;
    return nullptr;
}

// ---------------------------------------------------------------------------------------------
// Bytes
// ---------------------------------------------------------------------------------------------
std::string serialize_checkpoint(const Checkpoint& ckpt) {
    std::string out(kMagic, 8);
    put_u32(out, kVersion);
    put_u32(out, uint32_t(ckpt.meta.size()));
    put_u32(out, uint32_t(ckpt.tensors.size()));
    for (const auto& kv : ckpt.meta) {
        put_string(out, kv.first, "key");
        put_string(out, kv.second, ("the value of " + shown(kv.first)).c_str());
    }
    for (const auto& [name, t] : ckpt.tensors) {
        put_string(out, name, "tensor name");
        put_u32(out, uint32_t(t.ndim()));
        for (int d = 0; d < t.ndim(); ++d) put_u32(out, uint32_t(t.dim(d)));
        if (t.numel() > 0) out.append(reinterpret_cast<const char*>(t.data()), size_t(t.numel()) * sizeof(float));
    }
    uint64_t sum = fnv1a64(out.data(), out.size());
    out.append(reinterpret_cast<const char*>(&sum), 8);
    return out;
}

Checkpoint parse_checkpoint(const std::string& bytes, const std::string& source) {
    Reader r{bytes, source};
    r.need(8, "the magic number");
    if (std::memcmp(bytes.data(), kMagic, 8) != 0) {
        if (looks_like_safetensors(bytes))
            r.error("a safetensors file, not a ddpm checkpoint (`ddpm import` makes a checkpoint of it)");
        r.error("not a ddpm checkpoint (wrong magic number)");
    }
    r.pos = 8;
    uint32_t version = r.u32("the version");
    if (version != kVersion)
        r.error("checkpoint version " + std::to_string(version) + ", this program reads version " +
                std::to_string(kVersion));
    // The checksum is verified before the contents are trusted.
    if (bytes.size() < 8 + 4 + 8) r.error("file too short");
    uint64_t stored;
    std::memcpy(&stored, bytes.data() + bytes.size() - 8, 8);
    if (stored != fnv1a64(bytes.data(), bytes.size() - 8)) {
        r.pos = bytes.size() - 8;
        r.error("checksum mismatch: the file is damaged or truncated");
    }
    const std::string body = bytes.substr(0, bytes.size() - 8);
    Reader b{body, source, r.pos};
    uint32_t n_meta = b.u32("the metadata count");
    uint32_t n_tensors = b.u32("the tensor count");
    Checkpoint ckpt;
    std::unordered_set<std::string> names;  // a linear search per tensor would make a file of many tiny tensors hang
    std::unordered_set<std::string> keys;  // a key twice would leave which value counts to the reader
    for (uint32_t i = 0; i < n_meta; ++i) {
        std::string key = b.str("a metadata key");
        std::string value = b.str("a metadata value");
        if (!keys.insert(key).second) b.error("metadata entry '" + shown(key) + "' appears twice");
        ckpt.meta.push_back({key, value});
    }
    for (uint32_t i = 0; i < n_tensors; ++i) {
        std::string name = b.str("a tensor name");
        uint32_t ndim = b.u32("a tensor rank");
        if (ndim < 1 || ndim > 4) b.error("tensor '" + shown(name) + "' has rank " + std::to_string(ndim) + " (1 to 4 allowed)");
        std::vector<int> dims;
        int64_t numel = 1;
        for (uint32_t d = 0; d < ndim; ++d) {
            uint32_t v = b.u32("a tensor dimension");
            if (v > uint32_t(INT32_MAX)) b.error("tensor '" + shown(name) + "' dimension " + std::to_string(v) + " too large");
            numel *= int64_t(v);
            if (numel > kMaxValues) b.error("tensor '" + shown(name) + "' has more than 2^31 values");
            dims.push_back(int(v));
        }
        b.need(size_t(numel) * sizeof(float), "tensor data");
        std::vector<float> values(static_cast<size_t>(numel));
        // (a tensor may have no values; memcpy must not see the null data() of an empty vector)
        if (numel > 0) std::memcpy(values.data(), body.data() + b.pos, size_t(numel) * sizeof(float));
        b.pos += size_t(numel) * sizeof(float);
        if (!names.insert(name).second) b.error("tensor '" + shown(name) + "' appears twice");
        ckpt.tensors.push_back({name, Tensor::from(Shape::of(dims), std::move(values))});
    }
    if (b.pos != body.size()) b.error(std::to_string(body.size() - b.pos) + " unexpected bytes before the checksum");
    return ckpt;
}

void save_checkpoint(const std::string& path, const Checkpoint& ckpt) {
    write_file_atomic(path, serialize_checkpoint(ckpt));
}

Checkpoint load_checkpoint(const std::string& path) { return parse_checkpoint(read_file(path), path); }

// ---------------------------------------------------------------------------------------------
// Parameters
// ---------------------------------------------------------------------------------------------
void add_params(Checkpoint& ckpt, const Params& params, const std::string& prefix) {
    for (const Param& p : params) ckpt.add_tensor(prefix + p.name, p.tensor);
}

void read_params(const Checkpoint& ckpt, Params& params, const std::string& source, const std::string& prefix) {
    for (Param& p : params) {
        const Tensor* t = ckpt.find_tensor(prefix + p.name);
        if (!t) fail(source + ": no tensor '" + prefix + p.name + "' (a checkpoint of another model?)");
        if (t->shape() != p.tensor.shape())
            fail(source + ": tensor '" + prefix + p.name + "' has shape " + t->shape().str() + ", the model needs " +
                 p.tensor.shape().str());
        std::copy(t->data(), t->data() + t->numel(), p.tensor.data());
    }
}

}  // namespace ddpm
