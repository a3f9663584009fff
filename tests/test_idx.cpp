// The IDX reader (store/idx.h) on small files the test writes, and every refusal it promises.
#include <doctest/doctest.h>

#include <fstream>
#include <string>

#include "store/idx.h"
#include "helpers.h"

using namespace ddpm;
using testing_helpers::TempDir;

namespace {

// A well-formed file: 3 images of 2 x 4 bytes.
IdxArray three_images() {
    IdxArray a;
    a.dims = {3, 2, 4};
    for (int i = 0; i < 24; ++i) a.data.push_back(uint8_t(i * 10));
    return a;
}

std::string refusal(const std::string& bytes) {
    try {
        parse_idx(bytes, "t.idx");
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("idx: a file written and read back is the same, header bytes as the format says") {
    TempDir tmp("idx_roundtrip");
    const IdxArray a = three_images();
    const std::string bytes = serialize_idx(a);
    REQUIRE(bytes.size() == 4 + 12 + 24);
    CHECK(bytes.substr(0, 4) == std::string("\x00\x00\x08\x03", 4));
    CHECK(bytes.substr(4, 4) == std::string("\x00\x00\x00\x03", 4));  // big-endian 3
    save_idx(tmp / "a.idx", a);
    const IdxArray b = load_idx(tmp / "a.idx");
    CHECK(b.dims == a.dims);
    CHECK(b.data == a.data);
    CHECK(b.count() == 3);
    CHECK(b.item_size() == 8);

    IdxArray labels;  // idx1: MNIST's labels
    labels.dims = {5};
    labels.data = {7, 2, 1, 0, 4};
    const IdxArray c = parse_idx(serialize_idx(labels), "labels");
    CHECK(c.dims == labels.dims);
    CHECK(c.item_size() == 1);
}

TEST_CASE("idx: every malformed file is refused with one line naming it") {
    const std::string good = serialize_idx(three_images());
    struct Case {
        std::string bytes, says;
    };
    std::string big_claim = good.substr(0, 4) + std::string("\x05\xf5\xe1\x00", 4) + good.substr(8);  // 1e8 images, 800 MB
    std::string zero_dim = good;
    zero_dim[11] = 0;
    const Case cases[] = {
        {"", "shorter than the 4-byte magic number"},
        {std::string("\x01\x00\x08\x03", 4) + good.substr(4), "magic number starts 0x01 0x00"},
        {std::string("\x00\x00\x0d\x03", 4) + good.substr(4), "type 0x0d is not supported"},
        {std::string("\x00\x00\x08\x00", 4), "0 dimensions are not supported"},
        {std::string("\x00\x00\x08\x05", 4) + good.substr(4), "5 dimensions are not supported"},
        {good.substr(0, 10), "truncated: the header of 3 dimensions needs 16 bytes"},
        {good.substr(0, good.size() - 1), "truncated: the dimensions need 24 bytes of data, the file has 23"},
        {good + "x", "1 bytes after the 24"},
        {zero_dim, "dimension 2 is 0"},
        {big_claim, "truncated: the dimensions need 800000000 bytes"},
        {std::string("\x00\x00\x08\x04\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 20),
         "claim more than"},
    };
    for (const Case& c : cases) {
        const std::string e = refusal(c.bytes);
        INFO(c.says << " -> " << e);
        CHECK(e.rfind("t.idx: ", 0) == 0);
        CHECK(e.find(c.says) != std::string::npos);
        CHECK(e.find('\n') == std::string::npos);
    }
}

TEST_CASE("idx: a missing file and a folder are refused with their names") {
    TempDir tmp("idx_missing");
    for (const std::string& path : {tmp / "none.idx", tmp.dir.string()}) {
        std::string e;
        try {
            load_idx(path);
        } catch (const std::runtime_error& err) {
            e = err.what();
        }
        INFO(e);
        CHECK(e.rfind(path + ": ", 0) == 0);
    }
}

TEST_CASE("idx: MNIST as make data leaves it (skipped where data/mnist/ is missing)") {
    const std::string images = "data/mnist/t10k-images-idx3-ubyte", labels = "data/mnist/t10k-labels-idx1-ubyte";
    if (!std::ifstream(images) || !std::ifstream(labels)) {
        MESSAGE("skipped: no data/mnist/ (make data)");
        return;
    }
    const IdxArray x = load_idx(images), y = load_idx(labels);
    CHECK(x.dims == std::vector<int>{10000, 28, 28});
    CHECK(y.dims == std::vector<int>{10000});
    int per_class[10] = {0};
    for (uint8_t label : y.data) {
        REQUIRE(label < 10);
        ++per_class[label];
    }
    CHECK(per_class[1] == 1135);  // the test set's counts, as MNIST's page gives them
    CHECK(per_class[5] == 892);
    int64_t ink = 0;
    for (uint8_t v : x.data) ink += v;
    CHECK(double(ink) / double(x.data.size()) == doctest::Approx(33.79).epsilon(0.01));  // mean pixel of 0..255
}
