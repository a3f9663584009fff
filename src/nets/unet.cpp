#include "nets/unet.h"

#include <algorithm>
#include <cmath>

#include "core/common.h"
#include "core/image_kernels.h"

namespace ddpm {

// ---------------------------------------------------------------------------------------------
// The blocks
// ---------------------------------------------------------------------------------------------
ResBlock2d::ResBlock2d(int in_channels, int out_channels, int time_dim, int groups, Rng& rng)
    : norm1(groups, in_channels),
      norm2(groups, out_channels),
      conv1(in_channels, out_channels, 3, rng),
      conv2(out_channels, out_channels, 3, rng),
      time(time_dim, out_channels, rng),
      has_skip(in_channels != out_channels) {
    if (has_skip) skip = Conv2d(in_channels, out_channels, 1, rng);
}

Tensor ResBlock2d::forward(const Tensor& x, const Tensor& time_act) const {
    // BEGIN SOLUTION L09.1
    Tensor h = conv1.forward(silu(norm1.forward(x)));
    h = add_channel_vector(h, time.forward(time_act));
    h = conv2.forward(silu(norm2.forward(h)));
    return add(h, has_skip ? skip.forward(x) : x);
    // END SOLUTION
}

void ResBlock2d::collect(Params& params, const std::string& prefix) const {
    norm1.collect(params, prefix + ".norm1");
    conv1.collect(params, prefix + ".conv1");
    time.collect(params, prefix + ".time");
    norm2.collect(params, prefix + ".norm2");
    conv2.collect(params, prefix + ".conv2");
    if (has_skip) skip.collect(params, prefix + ".skip");
}

SelfAttention2d::SelfAttention2d(int channels, int heads_, int groups, Rng& rng)
    : norm(groups, channels), qkv(channels, 3 * channels, 1, rng), proj(channels, channels, 1, rng), heads(heads_) {}

Tensor SelfAttention2d::forward(const Tensor& x) const {
    return add(x, proj.forward(spatial_attention(qkv.forward(norm.forward(x)), heads)));
}

void SelfAttention2d::collect(Params& params, const std::string& prefix) const {
    norm.collect(params, prefix + ".norm");
    qkv.collect(params, prefix + ".qkv");
    proj.collect(params, prefix + ".proj");
}

// ---------------------------------------------------------------------------------------------
// The U-Net
// ---------------------------------------------------------------------------------------------
namespace {
const int kTimeFeatures = 32;  // width of the sinusoidal embedding of t, as in the CNN (nets/cnn.cpp)
const int kTimeDim = 128, kGroups = 8, kHeads = 4, kConvNeXtMult = 2;
}

ConvNeXtBlock2d::ConvNeXtBlock2d(int in_channels, int out_channels, int time_dim, Rng& rng)
    : depthwise(in_channels, in_channels, 7, rng, 1, -1, in_channels),
      conv1(in_channels, kConvNeXtMult * out_channels, 3, rng),
      conv2(kConvNeXtMult * out_channels, out_channels, 3, rng),
      time(time_dim, in_channels, rng),
      norm_gamma(Tensor::full(Shape{out_channels}, 1.0f, true)),
      norm_beta(Tensor::zeros(Shape{out_channels}, true)),
      has_skip(in_channels != out_channels) {
    if (has_skip) skip = Conv2d(in_channels, out_channels, 1, rng);
}

Tensor ConvNeXtBlock2d::forward(const Tensor& x, const Tensor& time_act) const {
    // BEGIN SOLUTION L09.2
    Tensor h = add_channel_vector(depthwise.forward(x), time.forward(time_act));
    h = conv2.forward(gelu(conv1.forward(h)));
    h = channel_layer_norm(h, norm_gamma, norm_beta);  // [003]: after the convolutions, before the add
    return add(h, has_skip ? skip.forward(x) : x);
    // END SOLUTION
}

void ConvNeXtBlock2d::collect(Params& params, const std::string& prefix) const {
    depthwise.collect(params, prefix + ".depthwise");
    time.collect(params, prefix + ".time");
    conv1.collect(params, prefix + ".conv1");
    conv2.collect(params, prefix + ".conv2");
    params.push_back({prefix + ".norm.weight", norm_gamma});
    params.push_back({prefix + ".norm.bias", norm_beta});
    if (has_skip) skip.collect(params, prefix + ".skip");
}

const char* unet_block_name(UNetBlockKind kind) { return kind == UNetBlockKind::Residual ? "residual" : "convnext"; }

UNetConfig unet_residual_config() { return UNetConfig{}; }

UNetConfig unet_convnext_config() {
    UNetConfig c;
    c.block = UNetBlockKind::ConvNeXt;
    c.c2 = 128;
    return c;
}

int64_t unet_values(const UNetConfig& c) {
    auto conv = [](int64_t in, int64_t out, int64_t k) { return out * in * k * k + out; };
    auto linear = [](int64_t in, int64_t out) { return out * in + out; };
    auto block = [&](int64_t in, int64_t out) {  // as the constructors of ResBlock2d and ConvNeXtBlock2d build them
        const int64_t skip = in != out ? conv(in, out, 1) : 0;
        if (c.block == UNetBlockKind::Residual)
            return 2 * in + conv(in, out, 3) + linear(kTimeDim, out) + 2 * out + conv(out, out, 3) + skip;
        return (49 * in + in) + conv(in, kConvNeXtMult * out, 3) + conv(kConvNeXtMult * out, out, 3) +
               linear(kTimeDim, in) + 2 * out + skip;
    };
    const int64_t c0 = c.c0, c1 = c.c1, c2 = c.c2;
    int64_t n = linear(kTimeFeatures, kTimeDim) + linear(kTimeDim, kTimeDim) + conv(1, c0, 3) + conv(c0, c0, 3) +
                conv(c1, c1, 3) + conv(c0, 1, 3);
    n += block(c0, c0) + block(c0, c1) + block(c1, c2) + block(c2, c2) + block(c2 + c1, c1) + block(c1 + c0, c0);
    n += 2 * c2 + conv(c2, 3 * c2, 1) + conv(c2, c2, 1) + 2 * c0;  // attention (its norm, qkv, proj), the head's norm
    if (c.classes > 0) n += int64_t(c.classes + 1) * kTimeDim;
    return n;
}

UNetBlock::UNetBlock(UNetBlockKind k, int in_channels, int out_channels, int time_dim, Rng& rng) : kind(k) {
    if (kind == UNetBlockKind::Residual) residual = ResBlock2d(in_channels, out_channels, time_dim, kGroups, rng);
    else convnext = ConvNeXtBlock2d(in_channels, out_channels, time_dim, rng);
}

Tensor UNetBlock::forward(const Tensor& x, const Tensor& time_act) const {
    return kind == UNetBlockKind::Residual ? residual.forward(x, time_act) : convnext.forward(x, time_act);
}

void UNetBlock::collect(Params& params, const std::string& prefix) const {
    if (kind == UNetBlockKind::Residual) residual.collect(params, prefix);
    else convnext.collect(params, prefix);
}

UNet::UNet(const UNetConfig& c, Rng& rng) : config(c) {
    if (c.c0 <= 0 || c.c1 <= 0 || c.c2 <= 0 || c.c0 % kGroups || c.c1 % kGroups || c.c2 % kGroups || c.c2 % kHeads)
        fail("UNet: channels " + std::to_string(c.c0) + ", " + std::to_string(c.c1) + ", " + std::to_string(c.c2) +
             " must be positive multiples of " + std::to_string(kGroups));
    const UNetBlockKind k = c.block;
    time1 = Linear(kTimeFeatures, kTimeDim, rng);
    time2 = Linear(kTimeDim, kTimeDim, rng);
    stem = Conv2d(1, c.c0, 3, rng);
    down0 = Conv2d(c.c0, c.c0, 3, rng, 2, 1);
    down1 = Conv2d(c.c1, c.c1, 3, rng, 2, 1);
    head = Conv2d(c.c0, 1, 3, rng);
    if (c.zero_head) {
        std::fill(head.weight.data(), head.weight.data() + head.weight.numel(), 0.0f);
        std::fill(head.bias.data(), head.bias.data() + head.bias.numel(), 0.0f);
    }
    block0 = UNetBlock(k, c.c0, c.c0, kTimeDim, rng);
    block1 = UNetBlock(k, c.c0, c.c1, kTimeDim, rng);
    mid1 = UNetBlock(k, c.c1, c.c2, kTimeDim, rng);
    mid2 = UNetBlock(k, c.c2, c.c2, kTimeDim, rng);
    up1 = UNetBlock(k, c.c2 + c.c1, c.c1, kTimeDim, rng);
    up0 = UNetBlock(k, c.c1 + c.c0, c.c0, kTimeDim, rng);
    attn = SelfAttention2d(c.c2, kHeads, kGroups, rng);
    head_norm = GroupNorm(kGroups, c.c0);
    if (c.classes < 0 || c.classes > 1000) fail("UNet: classes " + std::to_string(c.classes) + " is not in 0..1000");
    if (c.classes > 0) label = Tensor::zeros(Shape{c.classes + 1, kTimeDim}, true);
}

Tensor UNet::forward(const Tensor& x, const std::vector<float>& t) const { return forward(x, t, {}); }

Tensor UNet::forward(const Tensor& x, const std::vector<float>& t, const std::vector<int>& labels) const {
    Tensor e = silu(time2.forward(silu(time1.forward(timestep_embedding(t, kTimeFeatures)))));  // (B, 128)
    if (config.classes == 0 && !labels.empty()) fail("UNet: labels given to an unconditional network");
    if (config.classes > 0) {
        // table[label] as a product with the one-hot rows (B, classes + 1): each row of the result is
        // one row of the table plus zeros, so its values are the table's own
        const int B = int(t.size()), rows = config.classes + 1;
        if (!labels.empty() && labels.size() != t.size()) fail("UNet: one label per image is needed");
        std::vector<float> one_hot(size_t(B) * size_t(rows), 0.0f);
        for (int b = 0; b < B; ++b) {
            const int y = labels.empty() ? -1 : labels[size_t(b)];
            if (y < -1 || y >= config.classes)
                fail("UNet: label " + std::to_string(y) + " is not in 0.." + std::to_string(config.classes - 1) +
                     " (or -1 for none)");
            one_hot[size_t(b) * size_t(rows) + size_t(y < 0 ? config.classes : y)] = 1.0f;
        }
        e = add(e, matmul(Tensor::from(Shape{B, rows}, std::move(one_hot)), label));
    }
    const Tensor s0 = block0.forward(stem.forward(x), e);            // (B, c0, 28, 28)
    const Tensor s1 = block1.forward(down0.forward(s0), e);          // (B, c1, 14, 14)
    Tensor h = mid1.forward(down1.forward(s1), e);                   // (B, c2, 7, 7)
    h = mid2.forward(attn.forward(h), e);
    h = up1.forward(concat({upsample2x(h), s1}), e);                 // (B, c1, 14, 14)
    h = up0.forward(concat({upsample2x(h), s0}), e);                 // (B, c0, 28, 28)
    return head.forward(silu(head_norm.forward(h)));
}

Params UNet::params() const {
    Params p;
    time1.collect(p, "time1");
    time2.collect(p, "time2");
    stem.collect(p, "stem");
    block0.collect(p, "block0");
    down0.collect(p, "down0");
    block1.collect(p, "block1");
    down1.collect(p, "down1");
    mid1.collect(p, "mid1");
    attn.collect(p, "attn");
    mid2.collect(p, "mid2");
    up1.collect(p, "up1");
    up0.collect(p, "up0");
    head_norm.collect(p, "head_norm");
    head.collect(p, "head");
    if (config.classes > 0) p.push_back({"label", label});
    return p;
}

SmallUNet::SmallUNet(Rng& rng) : UNet([] { UNetConfig c = unet_residual_config(); c.zero_head = false; return c; }(), rng) {}

}  // namespace ddpm
