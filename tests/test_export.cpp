// The safetensors format (store/safetensors.h) and `ddpm export` / `ddpm import` (app/export.h): the
// round trip is exact, the layout is the format's, every malformed file is a one-line error naming
// the file and the offset, the tool's model samples the same rows after export and import, and the
// image networks go through the generic path.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "app/cli.h"
#include "app/export.h"
#include "store/checkpoint.h"
#include "core/common.h"
#include "nets/unet.h"
#include "core/io.h"
#include "store/image_checkpoint.h"
#include "store/safetensors.h"
#include "diffusion/image_train.h"
#include "diffusion/schedule.h"
#include "ddpm_run.h"
#include "helpers.h"

using namespace ddpm;
using testing_helpers::run_ddpm;
using testing_helpers::TempDir;

namespace {

std::string with_length(const std::string& header, const std::string& data = "") {
    const uint64_t n = header.size();
    std::string out(reinterpret_cast<const char*>(&n), 8);
    return out + header + data;
}

std::string floats(std::initializer_list<float> v) {
    std::string s;
    for (float f : v) s.append(reinterpret_cast<const char*>(&f), 4);
    return s;
}

bool same_bits(const Tensor& a, const Tensor& b) {
    return a.shape() == b.shape() &&
           (a.numel() == 0 || std::memcmp(a.data(), b.data(), size_t(a.numel()) * sizeof(float)) == 0);
}

void check_same(const Checkpoint& a, const Checkpoint& b) {
    REQUIRE(a.meta == b.meta);
    REQUIRE(a.tensors.size() == b.tensors.size());
    for (size_t i = 0; i < a.tensors.size(); ++i) {
        CHECK(a.tensors[i].first == b.tensors[i].first);
        CHECK(same_bits(a.tensors[i].second, b.tensors[i].second));
    }
}

std::string error_of(const std::string& bytes) {
    try {
        parse_safetensors(bytes, "w.safetensors");
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return "(parsed)";
}

}  // namespace

TEST_CASE("safetensors: tensors and metadata survive the round trip bit for bit, NaN and odd text included") {
    Checkpoint c;
    c.set_meta("schedule.name", "linear");
    c.set_meta("quote \" backslash \\ tab \t newline \n", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x99\x82 \x01");
    c.set_meta("empty", "");
    c.add_tensor("a.weight", Tensor::from(Shape{2, 3}, {1, -2, 3.5f, 1e-30f, -0.0f, 7}));
    c.add_tensor("b", Tensor::from(Shape{1, 2, 1, 2}, {std::nanf(""), INFINITY, -1, 2}));
    c.add_tensor("empty", Tensor::from(Shape{0}, {}));
    c.add_tensor("c.bias", Tensor::from(Shape{3}, {4, 5, 6}));
    const std::string bytes = serialize_safetensors(c);
    check_same(c, parse_safetensors(bytes, "x.safetensors"));
    CHECK(looks_like_safetensors(bytes));
    CHECK(serialize_safetensors(parse_safetensors(bytes, "x.safetensors")) == bytes);
}

TEST_CASE("safetensors: the layout is the format's (u64 length, JSON header, aligned data, offsets in order)") {
    Checkpoint c;
    c.set_meta("k", "v");
    c.add_tensor("w", Tensor::from(Shape{2}, {1.0f, 2.0f}));
    c.add_tensor("b", Tensor::from(Shape{1, 1}, {3.0f}));
    const std::string bytes = serialize_safetensors(c);
    uint64_t n = 0;
    std::memcpy(&n, bytes.data(), 8);
    const std::string header = bytes.substr(8, size_t(n));
    CHECK((8 + n) % 8 == 0);
    const std::string json = "{\"__metadata__\":{\"k\":\"v\"},\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                             "\"b\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[8,12]}}";
    CHECK(header.substr(0, json.size()) == json);
    CHECK(header.find_first_not_of(' ', json.size()) == std::string::npos);
    CHECK(bytes.substr(8 + size_t(n)) == floats({1.0f, 2.0f, 3.0f}));
    // another writer's header: whitespace, fields in any order, escapes, no metadata, tensors out of order
    const std::string other = "{\n \"b\" : {\"data_offsets\": [4, 8], \"shape\": [1], \"dtype\": \"F32\"},\n"
                              " \"\\u0061\\/x\": {\"shape\": [1], \"dtype\": \"F32\", \"data_offsets\": [0, 4]} }   ";
    const Checkpoint r = parse_safetensors(with_length(other, floats({5, 6})), "o.safetensors");
    REQUIRE(r.tensors.size() == 2);
    CHECK(r.tensors[0].first == "b");
    CHECK(r.tensors[0].second.data()[0] == 6.0f);
    CHECK(r.tensors[1].first == "a/x");
    CHECK(r.tensors[1].second.data()[0] == 5.0f);
    CHECK(r.meta.empty());
}

TEST_CASE("safetensors: every malformed file is one line naming the file, the offset and the problem") {
    const std::string ok_entry = "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";
    const std::string two = floats({1, 2});
    uint64_t huge = uint64_t(1) << 40;
    const std::string huge_len(reinterpret_cast<const char*>(&huge), 8);
    struct Case {
        std::string bytes, expected;
    };
    const std::vector<Case> cases = {
        {"", "w.safetensors: offset 0: file ends inside the header length (0 bytes; truncated?)"},
        {huge_len + "{}", "w.safetensors: offset 0: header length 1099511627776 is more than the 100000000 bytes a header may have"},
        {with_length("{}").substr(0, 8) + "{", "w.safetensors: offset 0: header length 2 is more than the 1 bytes that follow it"},
        {with_length("{"), "w.safetensors: offset 0: header length 1 is too short for a JSON object"},
        {with_length("[]  "), "w.safetensors: offset 8: the header does not start with '{'"},
        {with_length("{" + ok_entry, two), "w.safetensors: offset 61: the header ends where ',' or '}' after an entry of the header should be"},
        {with_length("{" + ok_entry + "}x", two), "w.safetensors: offset 62: bytes after the header's closing '}'"},
        {with_length("{\"w\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", two.substr(0, 4)),
         "w.safetensors: offset 22: tensor 'w' has dtype 'F16' (this reader takes F32 only)"},
        {with_length("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", two),
         "w.safetensors: offset 9: tensor 'w' has data_offsets [0, 8) of 8 bytes; its F32 shape needs 12"},
        {with_length("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                     "\"v\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                     two),
         "w.safetensors: offset 62: tensor 'v' has data_offsets [4, 8) overlapping those of tensor 'w'"},
        {with_length("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", two),
         "w.safetensors: offset 9: tensor 'w' starts at byte 4 of the data, leaving bytes 0 to 4 that no tensor covers"},
        {with_length("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", two),
         "w.safetensors: offset 9: tensor 'w' has data_offsets [8, 16), past the 8 bytes of data"},
        {with_length("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", two),
         "w.safetensors: offset 9: tensor 'w' has data_offsets [8, 0): the end is before the beginning"},
        {with_length("{" + ok_entry + "}", two + "xx"), "w.safetensors: offset 70: 2 bytes of data after the last tensor's"},
        {with_length("{" + ok_entry + "," + ok_entry + "}", two), "w.safetensors: offset 62: tensor 'w' appears twice"},
        {with_length("{\"w\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}", two.substr(0, 4)),
         "w.safetensors: offset 28: tensor 'w' has rank 0 (1 to 4 allowed)"},
        {with_length("{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1],\"data_offsets\":[0,4]}}", two.substr(0, 4)),
         "w.safetensors: offset 45: tensor 'w' has rank above 4"},
        {with_length("{\"w\":{\"dtype\":\"F32\",\"shape\":[65536,65536],\"data_offsets\":[0,4]}}", two.substr(0, 4)),
         "w.safetensors: offset 9: tensor 'w' has more than 2^31 values"},
        {with_length("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,99999999999999999999]}}", two),
         "w.safetensors: offset 58: a data offset is larger than 18446744073709551615"},
        {with_length("{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", two),
         "w.safetensors: offset 37: expected a dimension (a whole number >= 0), found '-'"},
        {with_length("{\"w\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", two),
         "w.safetensors: offset 37: a dimension is not a whole number"},
        {with_length("{\"w\":{\"dtype\":\"F32\",\"shape\":[02],\"data_offsets\":[0,8]}}", two),
         "w.safetensors: offset 37: a dimension has a leading zero (not JSON)"},
        {with_length("{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", two), "w.safetensors: offset 9: tensor 'w' lacks field 'data_offsets'"},
        {with_length("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":1}}", two),
         "w.safetensors: offset 61: tensor 'w' has an unknown field 'x'"},
        {with_length("{\"__metadata__\":{\"a\":1}}"),
         "w.safetensors: offset 29: the value of metadata 'a' is not a string"},
        {with_length("{\"__metadata__\":{\"a\":\"x\",\"a\":\"y\"}}"), "w.safetensors: offset 33: metadata key 'a' appears twice"},
        {with_length("{\"__metadata__\":{},\"__metadata__\":{}}"), "w.safetensors: offset 27: __metadata__ appears twice"},
        {with_length("{\"a\xff\":{}}"), "w.safetensors: offset 11: bytes that are not UTF-8 inside a tensor name"},
        {with_length("{\"a\nb\":{}}"), "w.safetensors: offset 11: a control byte inside a tensor name"},
        {with_length("{\"\\ud800\":{}}"), "w.safetensors: offset 16: a \\u escape of a high surrogate without its low half"},
        {with_length("{\"\\q\":{}}"), "w.safetensors: offset 11: an unknown escape '\\q'"},
        {with_length("{\"w\" \"x\"}"), "w.safetensors: offset 13: expected ':' after a tensor name, found '\"'"},
    };
    for (const Case& c : cases) {
        const std::string got = error_of(c.bytes);
        INFO("expected: " << c.expected << "\n     got: " << got);
        CHECK(got.compare(0, c.expected.size(), c.expected) == 0);
        CHECK(got.find('\n') == std::string::npos);
    }
}

TEST_CASE("export: a model of ddpm train exports, imports and samples the same rows; its errors are one line") {
    TempDir tmp("export_tool");
    {
        std::FILE* f = std::fopen((tmp / "d.csv").c_str(), "wb");
        std::fputs("x,y\n1,2\n3,1\n2,5\n0,1\n4,4\n10,3\n", f);
        std::fclose(f);
    }
    REQUIRE(run_ddpm(tmp, {"train", "--data", tmp / "d.csv", "--model", tmp / "m.ckpt", "--steps", "30", "--batch", "4",
                           "--T", "12", "--hidden", "8", "--layers", "2", "--threads", "1"}) == 0);
    REQUIRE(run_ddpm(tmp, {"export", "--model", tmp / "m.ckpt", "--out", tmp / "m.safetensors"}) == 0);
    REQUIRE(run_ddpm(tmp, {"export", "--model", tmp / "m.ckpt", "--out", tmp / "r.safetensors", "--raw"}) == 0);
    const Checkpoint ckpt = load_checkpoint(tmp / "m.ckpt");
    const Checkpoint ema = parse_safetensors(read_file(tmp / "m.safetensors"), "m"),
                     raw = parse_safetensors(read_file(tmp / "r.safetensors"), "r");
    // names of our Params, Linear weights transposed to (out, in), the metadata kept
    const Tensor* w = ckpt.find_tensor("ema.mlp.0.weight");
    const Tensor* we = ema.find_tensor("mlp.0.weight");
    REQUIRE(w);
    REQUIRE(we);
    CHECK(we->dim(0) == w->dim(1));
    CHECK(we->dim(1) == w->dim(0));
    CHECK(we->data()[1] == w->data()[w->dim(1)]);  // [0][1] of the transpose = [1][0] of ours
    CHECK(same_bits(*raw.find_tensor("mlp.0.bias"), *ckpt.find_tensor("mlp.0.bias")));
    CHECK(same_bits(*ema.find_tensor("mlp.0.bias"), *ckpt.find_tensor("ema.mlp.0.bias")));
    CHECK_FALSE(same_bits(*ema.find_tensor("mlp.0.bias"), *raw.find_tensor("mlp.0.bias")));
    CHECK(ema.tensors.size() == 6);
    CHECK(ema.get_meta("data.mean") == ckpt.get_meta("data.mean"));
    CHECK(ema.get_meta("schedule.beta_f64") == ckpt.get_meta("schedule.beta_f64"));
    CHECK(ema.get_meta("ddpm.weights") == "ema");
    CHECK(raw.get_meta("ddpm.weights") == "raw");

    REQUIRE(run_ddpm(tmp, {"import", "--model", tmp / "m.safetensors", "--out", tmp / "back.ckpt"}) == 0);
    REQUIRE(run_ddpm(tmp, {"sample", "--model", tmp / "m.ckpt", "--out", tmp / "a.csv", "--n", "20", "--threads", "1"}) == 0);
    REQUIRE(run_ddpm(tmp, {"sample", "--model", tmp / "back.ckpt", "--out", tmp / "b.csv", "--n", "20", "--threads", "1"}) == 0);
    CHECK(read_file(tmp / "a.csv") == read_file(tmp / "b.csv"));
    REQUIRE(run_ddpm(tmp, {"import", "--model", tmp / "r.safetensors", "--out", tmp / "raw.ckpt"}) == 0);
    REQUIRE(run_ddpm(tmp, {"sample", "--model", tmp / "m.ckpt", "--raw", "--out", tmp / "c.csv", "--n", "20", "--threads", "1"}) == 0);
    REQUIRE(run_ddpm(tmp, {"sample", "--model", tmp / "raw.ckpt", "--out", tmp / "d.csv", "--n", "20", "--threads", "1"}) == 0);
    CHECK(read_file(tmp / "c.csv") == read_file(tmp / "d.csv"));

    for (const char* command : {"export", "import"}) {
        CHECK(run_ddpm(tmp, {command, "--help"}) == 0);
        CHECK(read_file(tmp / "out.txt").find(std::string("usage: ddpm ") + command) == 0);
    }
    CHECK(run_ddpm(tmp, {"--help"}) == 0);
    CHECK(read_file(tmp / "out.txt").find("  export  --model IN.ckpt --out OUT.safetensors") != std::string::npos);

    struct Case {
        std::vector<std::string> args;
        std::string expected;
    };
    const std::string damaged = tmp / "damaged.safetensors";
    {
        std::string bytes = read_file(tmp / "m.safetensors");
        write_file_atomic(damaged, bytes.substr(0, bytes.size() - 4));
    }
    const std::vector<Case> cases = {
        {{"export", "--model", tmp / "m.safetensors", "--out", tmp / "x.safetensors"},
         "ddpm: " + tmp / "m.safetensors" + ": a safetensors file already"},
        {{"import", "--model", tmp / "m.ckpt", "--out", tmp / "x.ckpt"}, "ddpm: " + tmp / "m.ckpt" + ": a ddpm checkpoint already"},
        {{"sample", "--model", tmp / "m.safetensors", "--out", tmp / "x.csv"},
         "ddpm: " + tmp / "m.safetensors" + ": offset 0: a safetensors file, not a ddpm checkpoint"},
        {{"import", "--model", damaged, "--out", tmp / "x.ckpt"}, "ddpm: " + damaged + ": offset "},
        {{"export", "--model", tmp / "m.ckpt"}, "ddpm: export: --out OUT.safetensors is required"},
        {{"export", "--model", tmp / "m.ckpt", "--out", tmp / "m.ckpt"}, "ddpm: " + tmp / "m.ckpt" + ": --out is the same file"},
        {{"import", "--model", tmp / "m.safetensors", "--out", tmp / "x.ckpt", "--raw"}, "ddpm: import: unknown flag '--raw'"},
    };
    for (const Case& c : cases) {
        std::string err;
        CHECK(run_ddpm(tmp, c.args, &err) == 1);
        INFO("stderr: " << err);
        CHECK(err.find(c.expected) != std::string::npos);
        CHECK(!std::ifstream(tmp / "x.ckpt"));
        CHECK(!std::ifstream(tmp / "x.safetensors"));
    }
}

TEST_CASE("export: image networks (CNN, residual and ConvNeXt U-Nets) through the generic checkpoint path") {
    const Schedule s = linear_schedule(50);
    UNetConfig small;
    small.c0 = 8;
    small.c1 = 16;
    small.c2 = 16;
    small.zero_head = false;
    UNetConfig convnext = small;
    convnext.block = UNetBlockKind::ConvNeXt;
    for (int k = 0; k < 3; ++k) {
        Rng rng(7, uint64_t(k));
        const ImageModel model(k == 0 ? ImageArch::CNN : ImageArch::UNet, rng, k == 2 ? convnext : small);
        const Checkpoint c = image_model_checkpoint(model, s);
        const Checkpoint x = parse_safetensors(serialize_safetensors(export_weights(c, true, "img.ckpt")), "img.safetensors");
        CHECK(x.get_meta("ddpm.weights") == "single");
        CHECK(x.get_meta("model.kind") == "image");
        CHECK(x.tensors.size() == c.tensors.size());
        for (const auto& [name, t] : c.tensors) {
            const Tensor* e = x.find_tensor(name);
            REQUIRE(e);
            if (t.ndim() == 2) CHECK(e->shape() == Shape{t.dim(1), t.dim(0)});
            else CHECK(same_bits(*e, t));
        }
        const Checkpoint back = import_weights(x, "img.safetensors");
        check_imported(back, "img.safetensors");
        Schedule s2;
        const ImageModel again = image_model_from_checkpoint(back, "img.safetensors", s2);
        const Params a = model.params(), b = again.params();
        REQUIRE(a.size() == b.size());
        for (size_t i = 0; i < a.size(); ++i) CHECK(same_bits(a[i].tensor, b[i].tensor));
        CHECK(s2.beta == s.beta);
        bool raw_refused = false;
        try {
            export_weights(c, false, "img.ckpt");
        } catch (const std::runtime_error& e) {
            raw_refused = std::string(e.what()).find("img.ckpt: holds one set of weights") == 0;
        }
        CHECK(raw_refused);
    }
    // a trainer's checkpoint: EMA by default, the iterate with --raw, no Adam moments either way
    ImageTrainConfig tc;
    tc.unet = small;
    ImageTrainer tr(ImageArch::UNet, tc, s);
    tr.ema.shadow[0][0] += 1.0f;  // so that the two sets differ
    const Checkpoint c = image_trainer_checkpoint(tr);
    const Checkpoint e = export_weights(c, true, "t.ckpt"), r = export_weights(c, false, "t.ckpt");
    CHECK(e.tensors.size() == tr.params.size());
    CHECK(e.tensors[0].second.data()[0] == tr.ema.shadow[0][0]);
    CHECK(r.tensors[0].second.data()[0] == tr.params[0].tensor.data()[0]);
    const Checkpoint back = import_weights(parse_safetensors(serialize_safetensors(e), "t.safetensors"), "t.safetensors");
    check_imported(back, "t.safetensors");
    const ImageTrainer again = image_trainer_from_checkpoint(back, "t.safetensors");
    CHECK(again.ema.shadow[0] == tr.ema.shadow[0]);
    CHECK(again.params[0].tensor.data()[0] == tr.ema.shadow[0][0]);
}
