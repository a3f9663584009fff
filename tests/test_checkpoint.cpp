// The checkpoint format: round trip, and every kind of damage reported as one clear line.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>

#include "diffusion/train.h"
#include "helpers.h"
#include "store/trainer_checkpoint.h"

using namespace ddpm;

namespace {

Checkpoint sample_checkpoint() {
    Checkpoint c;
    c.set_meta("schedule", "linear");
    c.set_meta("step", "1200");
    c.add_tensor("w", testing_helpers::randn(Shape{3, 4}, 60, false));
    c.add_tensor("b", testing_helpers::randn(Shape{4}, 61, false));
    return c;
}

std::string error_of(const std::string& bytes) {
    try {
        parse_checkpoint(bytes, "model.ckpt");
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

void put_u32_at(std::string& bytes, size_t pos, uint32_t v) { std::memcpy(&bytes[pos], &v, 4); }

// Recomputes the trailing checksum, so that a test can reach the checks behind it.
void reseal(std::string& bytes) {
    uint64_t sum = fnv1a64(bytes.data(), bytes.size() - 8);
    std::memcpy(&bytes[bytes.size() - 8], &sum, 8);
}

}  // namespace

TEST_CASE("checkpoint: round trip keeps names, shapes, values and metadata") {
    Checkpoint c = sample_checkpoint();
    Checkpoint back = parse_checkpoint(serialize_checkpoint(c), "mem");
    CHECK(back.get_meta("schedule") == "linear");
    CHECK(back.get_meta("step") == "1200");
    REQUIRE(back.tensors.size() == 2);
    const Tensor* w = back.find_tensor("w");
    REQUIRE(w != nullptr);
    CHECK(w->shape() == Shape{3, 4});
    CHECK(std::memcmp(w->data(), c.find_tensor("w")->data(), 12 * sizeof(float)) == 0);
    CHECK_THROWS_WITH(back.get_meta("nope"), "checkpoint has no entry 'nope'");
}

TEST_CASE("checkpoint: params save to a file atomically and load into a model of the same shape") {
    const std::string dir = (std::filesystem::temp_directory_path() / "ddpm_ckpt_test").string();
    std::filesystem::remove_all(dir);
    Rng rng(1, 0);
    MLP a({2, 8, 2}, Activation::ReLU, rng), b({2, 8, 2}, Activation::ReLU, rng);
    Params pa, pb;
    a.collect(pa, "net");
    b.collect(pb, "net");
    Checkpoint c;
    add_params(c, pa);
    save_checkpoint(dir + "/m.ckpt", c);
    CHECK(std::filesystem::exists(dir + "/m.ckpt"));
    CHECK(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()) == 1);  // no temporary file
    read_params(load_checkpoint(dir + "/m.ckpt"), pb, "m.ckpt");
    for (size_t k = 0; k < pa.size(); ++k)
        CHECK(std::memcmp(pa[k].tensor.data(), pb[k].tensor.data(), pa[k].tensor.numel() * sizeof(float)) == 0);

    MLP other({2, 9, 2}, Activation::ReLU, rng);
    Params po;
    other.collect(po, "net");
    CHECK_THROWS_WITH(read_params(load_checkpoint(dir + "/m.ckpt"), po, "m.ckpt"),
                      "m.ckpt: tensor 'net.0.weight' has shape (2, 8), the model needs (2, 9)");
    CHECK_THROWS_WITH(load_checkpoint(dir + "/missing.ckpt"),
                      (dir + "/missing.ckpt: cannot open: No such file or directory").c_str());
    std::filesystem::remove_all(dir);
}

TEST_CASE("checkpoint: damage gives one line naming the file and the offset") {
    const std::string good = serialize_checkpoint(sample_checkpoint());
    CHECK(error_of(good).empty());

    CHECK(error_of(good.substr(0, good.size() - 3)) == "model.ckpt: offset " + std::to_string(good.size() - 11) +
                                                          ": checksum mismatch: the file is damaged or truncated");
    CHECK(error_of("") == "model.ckpt: offset 0: file ends inside the magic number (truncated?)");

    std::string flipped = good;
    flipped[60] ^= 0x10;
    CHECK(error_of(flipped).find("checksum mismatch") != std::string::npos);

    std::string magic = good;
    magic[0] = 'X';
    CHECK(error_of(magic) == "model.ckpt: offset 0: not a ddpm checkpoint (wrong magic number)");

    std::string version = good;
    put_u32_at(version, 8, 7);
    CHECK(error_of(version) == "model.ckpt: offset 12: checkpoint version 7, this program reads version 1");

    // a metadata key twice (valid checksum): which value counts would be up to the reader (issue 33.23)
    Checkpoint twice = sample_checkpoint();
    twice.meta.push_back(twice.meta.front());
    CHECK(error_of(serialize_checkpoint(twice)).find(": metadata entry '" + twice.meta.front().first + "' appears twice") !=
          std::string::npos);
}

TEST_CASE("checkpoint: shapes whose product overflows are refused, not allocated") {
    Checkpoint c;
    c.add_tensor("x", Tensor::zeros(Shape{2, 2}));
    std::string bytes = serialize_checkpoint(c);
    // layout: magic 8, version 4, n_meta 4, n_tensors 4, name (4 + 1), ndim 4, dims at 29 and 33
    put_u32_at(bytes, 29, 0x10000u);
    put_u32_at(bytes, 33, 0x10000u);
    reseal(bytes);
    CHECK(error_of(bytes) == "model.ckpt: offset 37: tensor 'x' has more than 2^31 values");
    put_u32_at(bytes, 29, 5);
    put_u32_at(bytes, 33, 5);
    reseal(bytes);
    CHECK(error_of(bytes) == "model.ckpt: offset 37: file ends inside tensor data (truncated?)");
}

TEST_CASE("checkpoint: a dimension beyond an int is refused; a file of many tiny tensors parses in linear time") {
    Checkpoint c;
    c.add_tensor("x", Tensor::zeros(Shape{1}));
    std::string bytes = serialize_checkpoint(c);
    put_u32_at(bytes, 29 - 4, 1);  // rank 1 (at 25), its one dimension at 29
    put_u32_at(bytes, 29, 0x80000000u);
    reseal(bytes);
    CHECK(error_of(bytes) == "model.ckpt: offset 33: tensor 'x' dimension 2147483648 too large");

    // 200000 tensors of one value: names are checked for uniqueness with a hash set (a linear search
    // per tensor took minutes); a repeated name is still refused.
    Checkpoint many;
    for (int i = 0; i < 200000; ++i) many.tensors.push_back({std::to_string(i), Tensor::zeros(Shape{1})});
    std::string big = serialize_checkpoint(many);
    CHECK(parse_checkpoint(big, "many.ckpt").tensors.size() == 200000);
    many.tensors.push_back({"17", Tensor::zeros(Shape{1})});
    CHECK_THROWS_WITH(parse_checkpoint(serialize_checkpoint(many), "many.ckpt"),
                      doctest::Contains("tensor '17' appears twice"));
}

// Found by tests/fuzz/fuzz_checkpoint.cpp: a tensor with a zero dimension passed the null data() of
// an empty vector to memcpy (undefined behaviour, reported by clang's UBSan).
TEST_CASE("checkpoint: a tensor without values round-trips") {
    Checkpoint c;
    c.add_tensor("none", Tensor::zeros(Shape{3, 0}));
    const std::string bytes = serialize_checkpoint(c);
    const Checkpoint back = parse_checkpoint(bytes, "empty.ckpt");
    REQUIRE(back.find_tensor("none") != nullptr);
    CHECK(back.find_tensor("none")->shape() == Shape{3, 0});
    CHECK(serialize_checkpoint(back) == bytes);
}

TEST_CASE("checkpoint: the writer and the reader share one limit on strings") {
    Checkpoint c = sample_checkpoint();
    c.set_meta("long", std::string(200000, 'x'));  // longer than the 65536 the reader once allowed
    const Checkpoint back = parse_checkpoint(serialize_checkpoint(c), "model.ckpt");
    CHECK(back.get_meta("long") == c.get_meta("long"));
    // What the reader would refuse, the writer does not write.
    std::string bytes = serialize_checkpoint(sample_checkpoint());
    const uint32_t too_long = kMaxCheckpointString + 1;
    std::memcpy(&bytes[20], &too_long, 4);  // the length of the first key
    const uint64_t sum = fnv1a64(bytes.data(), bytes.size() - 8);
    std::memcpy(&bytes[bytes.size() - 8], &sum, 8);
    CHECK(error_of(bytes) == "model.ckpt: offset 24: a metadata key length " + std::to_string(too_long) + " is implausible");
    c.set_meta("huge", std::string(kMaxCheckpointString + 1, 'x'));
    CHECK_THROWS_WITH(serialize_checkpoint(c), ("checkpoint: the value of huge 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' of " +
                                                std::to_string(kMaxCheckpointString + 1) + " bytes is longer than the " +
                                                std::to_string(kMaxCheckpointString) + " a checkpoint holds")
                                                   .c_str());
}

TEST_CASE("checkpoint: trainer_from_checkpoint checks its entries before it builds anything") {
    EpsModelConfig mc;
    mc.hidden = 8;
    mc.layers = 1;
    TrainConfig tc;
    const Trainer tr(mc, tc, linear_schedule(20));
    Checkpoint c = trainer_checkpoint(tr);
    CHECK(trainer_from_checkpoint(c, "t.ckpt").step == 0);
    c.set_meta("model.hidden", "65536");  // 2^32 weights described by a file of a few kB
    c.set_meta("model.layers", "2");
    int64_t stored = 0;
    for (const auto& nt : c.tensors) stored += nt.second.numel();
    const int64_t weights = (2 + 32) * 65536LL + 65536 + (65536LL * 65536 + 65536) + 65536LL * 2 + 2;
    CHECK_THROWS_WITH(trainer_from_checkpoint(c, "t.ckpt"),
                      ("t.ckpt: the model it describes (2 layers of 65536) has " + std::to_string(weights) +
                       " weights; the file holds " + std::to_string(stored) + " values, fewer than the weights and their average")
                          .c_str());
    c = trainer_checkpoint(tr);
    c.set_meta("train.lr", "1e-50");  // 0 as the float Adam uses
    CHECK_THROWS_WITH(trainer_from_checkpoint(c, "t.ckpt"),
                      "t.ckpt: entry 'train.lr' is not a number in the range the tool writes: '1e-50'");
    c = trainer_checkpoint(tr);
    c.set_meta("schedule.T", "1000001");
    CHECK_THROWS_WITH(trainer_from_checkpoint(c, "t.ckpt"),
                      "t.ckpt: entry 'schedule.T' should be a whole number from 1 to 1000000, not '1000001'");
}
