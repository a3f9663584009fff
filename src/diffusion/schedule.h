// schedule.h: noise schedules, beta_t for t = 1..T, and the quantities derived from them.
//
// Convention (docs/notation.md), as in Ho et al. 2020:
//   t = 0 is the data; t = 1..T are noising steps;
//   alpha_t = 1 - beta_t;   alpha_bar_t = prod_{s=1..t} alpha_s,  alpha_bar_0 = 1;
//   beta_tilde_t = (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) * beta_t   (posterior variance);
//   snr_t = alpha_bar_t / (1 - alpha_bar_t).
// Every array has T + 1 entries and is indexed by t itself: alpha_bar[t] IS alpha-bar_t.
// Entry 0 holds the values of "no noise": beta 0, alpha 1, alpha_bar 1, beta_tilde 0, snr +inf.
#pragma once

#include <string>
#include <vector>

namespace ddpm {

// The longest schedule a constructor builds (the tool's --T and a checkpoint's schedule.T share it,
// store/settings.h).
inline constexpr int kMaxT = 1000000;

struct Schedule {
    std::string name;               // "linear(1e-4, 0.02)", ...
    int T = 0;
    std::vector<double> beta;       // [0..T]
    std::vector<double> alpha;      // [0..T]
    std::vector<double> alpha_bar;  // [0..T]
    std::vector<double> beta_tilde; // [0..T]
    std::vector<double> snr;        // [0..T]
};

// Fills alpha, alpha_bar, beta_tilde and snr from beta[1..T] (beta[0] is ignored and set to 0).
// Every beta must lie in (0, 1).
Schedule schedule_from_betas(const std::string& name, std::vector<double> beta);

// The schedule cut at t (1 <= t <= T): its first t betas, so that alpha_bar_1..t are the whole
// schedule's. A sampler that must end its timesteps at the schedule's T (ddim.h) starts from an
// intermediate z_t on it.
Schedule cut_schedule(const Schedule& s, int t);

// beta_t = beta_1 + (t - 1) / (T - 1) * (beta_T - beta_1)          (Ho et al. 2020, sec. 4)
Schedule linear_schedule(int T, double beta_1 = 1e-4, double beta_T = 0.02);
// beta_t = beta for every t
Schedule constant_schedule(int T, double beta);
// alpha_bar_t = f(t) / f(0), f(t) = cos^2(((t / T) + s) / (1 + s) * pi / 2), beta_t = 1 - alpha_bar_t /
// alpha_bar_{t-1} capped at max_beta  (Nichol and Dhariwal 2021, eq. 17)
Schedule cosine_schedule(int T, double s = 0.008, double max_beta = 0.999);
// beta_t = beta_1 + sigmoid(-6 + 12 (t - 1) / (T - 1)) * (beta_T - beta_1): the linear range, but
// slow at both ends (as in Xu et al. 2022, GeoDiff)
Schedule sigmoid_schedule(int T, double beta_1 = 1e-4, double beta_T = 0.02);

// "linear", "constant" (needs beta), "cosine", "sigmoid"
Schedule make_schedule(const std::string& kind, int T, double constant_beta = 0.01);

// The convention in three lines, printed at the top of every lesson that uses t.
const char* notation_banner();

}  // namespace ddpm
