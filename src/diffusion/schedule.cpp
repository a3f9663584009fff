#include "diffusion/schedule.h"

#include <cmath>
#include <limits>

#include "core/common.h"
#include "core/dmath.h"
#include "core/io.h"

namespace ddpm {

Schedule schedule_from_betas(const std::string& name, std::vector<double> beta) {
    const int T = int(beta.size()) - 1;
    if (T < 1) fail("schedule " + name + ": needs T >= 1");
    for (int t = 1; t <= T; ++t)
        if (!(beta[size_t(t)] > 0.0 && beta[size_t(t)] < 1.0))
            fail("schedule " + name + ": beta_" + std::to_string(t) + " = " + std::to_string(beta[size_t(t)]) +
                 " is outside (0, 1)");
    Schedule s;
    s.name = name;
    s.T = T;
    s.beta = std::move(beta);
    s.beta[0] = 0.0;
    s.alpha.assign(size_t(T) + 1, 1.0);
    s.alpha_bar.assign(size_t(T) + 1, 1.0);
    s.beta_tilde.assign(size_t(T) + 1, 0.0);
    s.snr.assign(size_t(T) + 1, std::numeric_limits<double>::infinity());
    // BEGIN SOLUTION L01.1
    for (int t = 1; t <= T; ++t) {
        s.alpha[size_t(t)] = 1.0 - s.beta[size_t(t)];
        s.alpha_bar[size_t(t)] = s.alpha_bar[size_t(t) - 1] * s.alpha[size_t(t)];
        s.beta_tilde[size_t(t)] =
            (1.0 - s.alpha_bar[size_t(t) - 1]) / (1.0 - s.alpha_bar[size_t(t)]) * s.beta[size_t(t)];
        s.snr[size_t(t)] = s.alpha_bar[size_t(t)] / (1.0 - s.alpha_bar[size_t(t)]);
    }
    // END SOLUTION
    return s;
}

namespace {

// 1 <= T <= kMaxT (schedule.h)
void check_T(int T, const char* kind) {
    if (T < 1 || T > kMaxT)
        fail(std::string(kind) + " schedule: T must be in [1, " + std::to_string(kMaxT) + "], got " + std::to_string(T));
}

}  // namespace

Schedule linear_schedule(int T, double beta_1, double beta_T) {
    check_T(T, "linear");
    std::vector<double> beta(size_t(T) + 1, 0.0);
    for (int t = 1; t <= T; ++t)
        beta[size_t(t)] = T == 1 ? beta_1 : beta_1 + (beta_T - beta_1) * double(t - 1) / double(T - 1);
    return schedule_from_betas("linear(" + fmt_g(beta_1) + ", " + fmt_g(beta_T) + ")", std::move(beta));
}

Schedule constant_schedule(int T, double beta) {
    check_T(T, "constant");
    return schedule_from_betas("constant(" + fmt_g(beta) + ")", std::vector<double>(size_t(T) + 1, beta));
}

Schedule cosine_schedule(int T, double s, double max_beta) {
    check_T(T, "cosine");
    auto f = [&](int t) {
        double c = dmath::cos((double(t) / T + s) / (1.0 + s) * dmath::kPi / 2.0);
        return c * c;
    };
    std::vector<double> beta(size_t(T) + 1, 0.0);
    for (int t = 1; t <= T; ++t) beta[size_t(t)] = std::fmin(1.0 - f(t) / f(t - 1), max_beta);
    return schedule_from_betas("cosine(s=" + fmt_g(s) + ")", std::move(beta));
}

Schedule sigmoid_schedule(int T, double beta_1, double beta_T) {
    check_T(T, "sigmoid");
    std::vector<double> beta(size_t(T) + 1, 0.0);
    for (int t = 1; t <= T; ++t) {
        double u = T == 1 ? 0.0 : -6.0 + 12.0 * double(t - 1) / double(T - 1);
        beta[size_t(t)] = beta_1 + (beta_T - beta_1) / (1.0 + dmath::exp(-u));
    }
    return schedule_from_betas("sigmoid(" + fmt_g(beta_1) + ", " + fmt_g(beta_T) + ")", std::move(beta));
}

const char* notation_banner() {
    return "Notation (docs/notation.md): t = 0 is the data, t = 1..T are noising steps;\n"
           "  alpha_t = 1 - beta_t, alpha_bar_t = prod_{s=1..t} alpha_s (alpha_bar_0 = 1);\n"
           "  q(x_t | x_0) = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I).\n";
}

Schedule make_schedule(const std::string& kind, int T, double constant_beta) {
    if (kind == "linear") return linear_schedule(T);
    if (kind == "constant") return constant_schedule(T, constant_beta);
    if (kind == "cosine") return cosine_schedule(T);
    if (kind == "sigmoid") return sigmoid_schedule(T);
    fail("unknown schedule '" + kind + "' (expected linear, constant, cosine or sigmoid)");
}

Schedule cut_schedule(const Schedule& s, int t) {
    if (t < 1 || t > s.T) fail("cut_schedule: t = " + std::to_string(t) + " outside 1..T = " + std::to_string(s.T));
    return schedule_from_betas(s.name, std::vector<double>(s.beta.begin(), s.beta.begin() + t + 1));
}

}  // namespace ddpm
