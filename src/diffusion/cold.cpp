#include "diffusion/cold.h"

#include <cmath>
#include <string>

#include "core/common.h"
#include "core/dmath.h"

namespace ddpm {

std::vector<double> blur_kernel_1d(int taps, double beta) {
    if (taps < 1 || taps % 2 == 0 || !(beta > 0.0) || !std::isfinite(beta))
        fail("blur_kernel_1d: taps must be odd and positive and beta positive, got taps = " + std::to_string(taps));
    std::vector<double> w(static_cast<size_t>(taps));
    double total = 0.0;
    for (int i = 0; i < taps; ++i) {
        const double u = i - taps / 2;
        w[size_t(i)] = dmath::exp(-u * u / (2.0 * beta));
        total += w[size_t(i)];
    }
    for (double& v : w) v /= total;
    return w;
}

std::vector<double> composed_kernel(const std::vector<double>& g, int t) {
    if (g.empty() || g.size() % 2 == 0) fail("composed_kernel: the kernel must have an odd number of taps");
    if (t < 0) fail("composed_kernel: t must be at least 0, got " + std::to_string(t));
    std::vector<double> k{1.0};  // G~_0: the identity
    // BEGIN SOLUTION L10.1
    // G~_t = G * G~_{t-1}: each full convolution adds len(g) - 1 taps and keeps the kernel centred
    for (int step = 0; step < t; ++step) {
        std::vector<double> next(k.size() + g.size() - 1, 0.0);
        for (size_t i = 0; i < k.size(); ++i)
            for (size_t j = 0; j < g.size(); ++j) next[i + j] += k[i] * g[j];
        k.swap(next);
    }
    // END SOLUTION
    return k;
}

std::vector<double> fold_kernel(const std::vector<double>& k, int P) {
    if (k.empty() || k.size() % 2 == 0 || P < 1) fail("fold_kernel: needs an odd kernel and a positive period");
    const int64_t c = int64_t(k.size() / 2);
    std::vector<double> f(static_cast<size_t>(P), 0.0);
    for (size_t i = 0; i < k.size(); ++i) {
        const int64_t offset = ((int64_t(i) - c) % P + P) % P;
        f[size_t(offset)] += k[i];
    }
    return f;
}

namespace {

// One periodic separable blur with kernels already folded onto the periods (fr: W values, fc: H).
void blur_folded(float* y, const float* x, int H, int W, const std::vector<double>& fr, const std::vector<double>& fc,
                 std::vector<float>& rows) {
    rows.resize(size_t(H) * W);
    for (int r = 0; r < H; ++r)
        for (int c = 0; c < W; ++c) {
            double acc = 0.0;
            for (int j = 0; j < W; ++j) acc += fr[size_t(j)] * x[r * W + (c + j) % W];
            rows[size_t(r * W + c)] = float(acc);
        }
    for (int r = 0; r < H; ++r)
        for (int c = 0; c < W; ++c) {
            double acc = 0.0;
            for (int j = 0; j < H; ++j) acc += fc[size_t(j)] * rows[size_t(((r + j) % H) * W + c)];
            y[r * W + c] = float(acc);
        }
}

void check_t(int t, const BlurProcess& p, const char* who) {
    if (t < 0 || t > p.T)
        fail(std::string(who) + ": t must be in [0, T = " + std::to_string(p.T) + "], got " + std::to_string(t));
}

}  // namespace

void blur_periodic(float* out, const float* in, int n, int H, int W, const std::vector<double>& k) {
    if (out == in) fail("blur_periodic: out and in must differ");
    const std::vector<double> fr = fold_kernel(k, W), fc = fold_kernel(k, H);
    std::vector<float> rows;
    for (int i = 0; i < n; ++i) blur_folded(out + int64_t(i) * H * W, in + int64_t(i) * H * W, H, W, fr, fc, rows);
}

BlurProcess blur_process(int T, double beta, int taps, int H, int W) {
    if (T < 1 || T > 100000) fail("blur_process: T must be in [1, 100000], got " + std::to_string(T));
    if (H < 1 || W < 1) fail("blur_process: the image must have a positive size");
    BlurProcess p;
    p.T = T;
    p.beta = beta;
    p.taps = taps;
    p.H = H;
    p.W = W;
    p.g = blur_kernel_1d(taps, beta);
    // G~_t grows by taps - 1 per step; folded onto the period after every step, it stays P long
    // and equals fold(composed_kernel(g, t)) (folding commutes with periodic convolution).
    for (auto [P, out] : {std::pair<int, std::vector<std::vector<double>>*>{W, &p.composed_row}, {H, &p.composed_col}}) {
        const std::vector<double> step = fold_kernel(p.g, P);
        std::vector<double> k(static_cast<size_t>(P), 0.0);
        k[0] = 1.0;
        out->push_back(k);
        for (int t = 1; t <= T; ++t) {
            std::vector<double> next(static_cast<size_t>(P), 0.0);
            for (int i = 0; i < P; ++i)
                for (int j = 0; j < P; ++j) next[size_t((i + j) % P)] += k[size_t(i)] * step[size_t(j)];
            k.swap(next);
            out->push_back(k);
        }
    }
    return p;
}


void blur_degrade(float* z, const float* x, int n, const int* t, const BlurProcess& p) {
    const int64_t D = int64_t(p.H) * p.W;
    std::vector<float> rows;
    for (int i = 0; i < n; ++i) {
        check_t(t[i], p, "blur_degrade");
        blur_folded(z + i * D, x + i * D, p.H, p.W, p.composed_row[size_t(t[i])], p.composed_col[size_t(t[i])], rows);
    }
}

void blur_degrade(float* z, const float* x, int n, int t, const BlurProcess& p) {
    const std::vector<int> ts(static_cast<size_t>(n), t);
    blur_degrade(z, x, n, ts.data(), p);
}

void cold_training_batch(float* z, int* t, const float* x0, int n, const BlurProcess& p, Rng& t_rng) {
    t_rng.fill_randint(t, n, 1, p.T);
    blur_degrade(z, x0, n, t, p);  // [003] eq. (5), image b at t[b]
}

void blur_iterate(float* z, const float* x, int n, int t, const BlurProcess& p) {
    check_t(t, p, "blur_iterate");
    const int64_t D = int64_t(p.H) * p.W;
    std::vector<float> a(x, x + n * D), b(a.size());
    for (int step = 0; step < t; ++step) {
        blur_periodic(b.data(), a.data(), n, p.H, p.W, p.g);
        a.swap(b);
    }
    std::copy(a.begin(), a.end(), z);
}

void cold_step(float* x, const float* x0_hat, int n, int s, const BlurProcess& p, bool improved) {
    if (s < 1 || s > p.T) fail("cold_step: s must be in [1, T = " + std::to_string(p.T) + "], got " + std::to_string(s));
    const int64_t N = int64_t(n) * p.H * p.W;
    std::vector<float> now(static_cast<size_t>(N)), before(static_cast<size_t>(N));
    // BEGIN SOLUTION L10.2
    blur_degrade(before.data(), x0_hat, n, s - 1, p);  // D(x0_hat, s - 1)
    if (improved) {
        blur_degrade(now.data(), x0_hat, n, s, p);  // D(x0_hat, s)
        for (int64_t i = 0; i < N; ++i) x[i] = x[i] - now[size_t(i)] + before[size_t(i)];
    } else {
        for (int64_t i = 0; i < N; ++i) x[i] = before[size_t(i)];
    }
    // END SOLUTION
}

void cold_sample(float* x, int n, int from, const BlurProcess& p, const X0Function& R, bool improved,
                 const std::function<void(int, const float*, const float*)>& trace) {
    if (from < 1 || from > p.T) fail("cold_sample: from must be in [1, T = " + std::to_string(p.T) + "]");
    std::vector<float> x0_hat(size_t(n) * size_t(p.H) * size_t(p.W));
    for (int s = from; s >= 1; --s) {
        R(x0_hat.data(), x, n, s);
        if (trace) trace(s, x0_hat.data(), x);
        cold_step(x, x0_hat.data(), n, s, p, improved);
    }
}

}  // namespace ddpm
