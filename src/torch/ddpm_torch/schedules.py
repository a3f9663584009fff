"""The course's noise schedules, timestep embedding and the few formulas around them, in float64
where the course computes in double (src/diffusion/schedule.cpp, src/core/kernels.cpp).

Convention (docs/notation.md): t = 0 is the data, t = 1..T the noising steps, every array has T + 1
entries indexed by t itself (beta[0] = 0, alpha_bar[0] = 1). A network is fed the 1-based t.
"""
import math

import torch

from .errors import DataError

MAX_T = 1000000  # the course's kMaxT


class Schedule:
    """beta_0..beta_T and what follows from them, all float64 tensors of T + 1 entries:
    alpha_t = 1 - beta_t, alpha_bar_t = prod alpha_s, beta_tilde_t = (1 - ab_{t-1}) / (1 - ab_t) beta_t,
    snr_t = ab_t / (1 - ab_t). `name` is the course's name of the schedule ("linear(0.0001, 0.02)")."""

    def __init__(self, name, betas):
        beta = torch.as_tensor(betas, dtype=torch.float64).clone()
        T = beta.numel() - 1
        if T < 1:
            raise DataError("schedule %s: needs T >= 1" % name)
        beta[0] = 0.0
        bad = ~((beta[1:] > 0) & (beta[1:] < 1))
        if bool(bad.any()):
            t = int(bad.nonzero()[0]) + 1
            raise DataError("schedule %s: beta_%d = %g is outside (0, 1)" % (name, t, float(beta[t])))
        self.name, self.T, self.beta = name, T, beta
        self.alpha = 1.0 - beta
        # a running product in order, as the course forms it (torch.cumprod multiplies in order too)
        self.alpha_bar = torch.cumprod(self.alpha, 0)
        self.beta_tilde = torch.zeros_like(beta)
        self.beta_tilde[1:] = (1.0 - self.alpha_bar[:-1]) / (1.0 - self.alpha_bar[1:]) * beta[1:]
        self.snr = self.alpha_bar / (1.0 - self.alpha_bar)

    def metadata(self):
        """The schedule's entries of a course checkpoint: its name, T and its betas as %.17g text
        (beta_0 = 0 first), which read back to the same doubles."""
        return {"schedule.name": self.name, "schedule.T": str(self.T),
                "schedule.beta_f64": "".join("%.17g " % v for v in self.beta.tolist())}


def _check_T(T, kind):
    if not (1 <= T <= MAX_T):
        raise DataError("%s schedule: T must be in [1, %d], got %d" % (kind, MAX_T, T))


def linear_schedule(T, beta_1=1e-4, beta_T=0.02):
    """beta_t = beta_1 + (t - 1) / (T - 1) (beta_T - beta_1) (Ho et al. 2020, sec. 4)."""
    _check_T(T, "linear")
    beta = [0.0] + [beta_1 if T == 1 else beta_1 + (beta_T - beta_1) * float(t - 1) / float(T - 1) for t in range(1, T + 1)]
    return Schedule("linear(%g, %g)" % (beta_1, beta_T), beta)


def constant_schedule(T, beta):
    _check_T(T, "constant")
    return Schedule("constant(%g)" % beta, [beta] * (T + 1))


# The course computes the cosine schedule with its own cosine (src/core/dmath.cpp: Cody and Waite's
# reduction by pi/2 in three parts, then Taylor polynomials in plain double arithmetic), so that the
# betas are the same bits everywhere. The same steps here give the course's betas exactly; the
# library's math.cos differs from it in the last bit of about a third of them (T = 1000).
_PIO2 = (1.57079632673412561417e+00, 6.07710050650619224932e-11, 2.02226624879595063154e-21)
_TWO_OVER_PI = 6.36619772367581382433e-01
_SIN_TAYLOR = (1.0, -1.0 / 6, 1.0 / 120, -1.0 / 5040, 1.0 / 362880, -1.0 / 39916800, 1.0 / 6227020800.0,
               -1.0 / 1307674368000.0, 1.0 / 355687428096000.0)
_COS_TAYLOR = (1.0, -1.0 / 2, 1.0 / 24, -1.0 / 720, 1.0 / 40320, -1.0 / 3628800, 1.0 / 479001600,
               -1.0 / 87178291200.0, 1.0 / 20922789888000.0, -1.0 / 6402373705728000.0)
COURSE_PI = 3.14159265358979323846


_LN2 = (6.93147180369123816490e-01, 1.90821492927058770002e-10)
_INV_LN2 = 1.44269504088896338700e+00
_EXP_TAYLOR = tuple(1.0 / math.factorial(k) for k in range(14))


def course_exp(x):
    """exp as the course's dmath::exp computes it: 2^n exp(r), n = round(x / ln 2), a Taylor polynomial."""
    if x != x:
        return x
    if x > 709.78:
        return math.inf
    if x < -745.0:
        return 0.0
    n = float(round(x * _INV_LN2))
    r = x - n * _LN2[0]
    r = r - n * _LN2[1]
    return math.ldexp(_horner(_EXP_TAYLOR, r), int(n))


def _horner(c, x):
    p = c[-1]
    for v in reversed(c[:-1]):
        p = p * x + v
    return p


def course_cos(x):
    """cos as the course's dmath::cos computes it (the same double for every x with |x| <= 1e9)."""
    k = float(round(x * _TWO_OVER_PI))  # round half to even, as std::nearbyint
    r = x - k * _PIO2[0]
    r = r - k * _PIO2[1]
    r = r - k * _PIO2[2]
    r2 = r * r
    n = int(k) & 3
    if n == 0:
        return _horner(_COS_TAYLOR, r2)
    if n == 1:
        return -(r * _horner(_SIN_TAYLOR, r2))
    if n == 2:
        return -_horner(_COS_TAYLOR, r2)
    return r * _horner(_SIN_TAYLOR, r2)


def cosine_schedule(T, s=0.008, max_beta=0.999):
    """alpha_bar_t = f(t) / f(0), f(t) = cos^2((t / T + s) / (1 + s) pi / 2), beta_t = 1 - f(t) / f(t - 1)
    capped at max_beta (Nichol and Dhariwal 2021, eq. 17), with the course's cosine: the same betas."""
    _check_T(T, "cosine")

    def f(t):
        c = course_cos((float(t) / T + s) / (1.0 + s) * COURSE_PI / 2.0)
        return c * c

    beta = [0.0] + [min(1.0 - f(t) / f(t - 1), max_beta) for t in range(1, T + 1)]
    return Schedule("cosine(s=%g)" % s, beta)


def sigmoid_schedule(T, beta_1=1e-4, beta_T=0.02):
    """beta_t = beta_1 + sigmoid(-6 + 12 (t - 1) / (T - 1)) (beta_T - beta_1), with the course's exp."""
    _check_T(T, "sigmoid")
    beta = [0.0]
    for t in range(1, T + 1):
        u = 0.0 if T == 1 else -6.0 + 12.0 * float(t - 1) / float(T - 1)
        beta.append(beta_1 + (beta_T - beta_1) / (1.0 + course_exp(-u)))
    return Schedule("sigmoid(%g, %g)" % (beta_1, beta_T), beta)


def make_schedule(kind, T, constant_beta=0.01):
    """"linear", "constant" (with constant_beta), "cosine" or "sigmoid", as `ddpm train --schedule`."""
    if kind == "linear":
        return linear_schedule(T)
    if kind == "constant":
        return constant_schedule(T, constant_beta)
    if kind == "cosine":
        return cosine_schedule(T)
    if kind == "sigmoid":
        return sigmoid_schedule(T)
    raise DataError("unknown schedule '%s' (expected linear, constant, cosine or sigmoid)" % kind)


def schedule_from_metadata(meta, source="the file"):
    """The schedule of a course file: exactly its doubles (schedule.beta_f64), checked against schedule.T."""
    for key in ("schedule.name", "schedule.T", "schedule.beta_f64"):
        if key not in meta:
            raise DataError("%s: no metadata '%s' (not a noise-diffusion model of the course?)" % (source, key))
    try:
        beta = [float(v) for v in meta["schedule.beta_f64"].split()]
        T = int(meta["schedule.T"])
    except ValueError:
        raise DataError("%s: metadata 'schedule.beta_f64' or 'schedule.T' is not numbers" % source)
    if len(beta) != T + 1:
        raise DataError("%s: schedule has %d betas for T = %d" % (source, len(beta), T))
    return Schedule(meta["schedule.name"], beta)


def timestep_embedding(t, dim, max_period=10000.0):
    """[sin(t w_0) .. sin(t w_{h-1}) | cos(t w_0) .. cos(t w_{h-1})], w_i = max_period^(-i / h), h = dim / 2,
    computed in double and rounded to float, for t of shape (B,) (the course feeds the 1-based t)."""
    half = dim // 2
    i = torch.arange(half, dtype=torch.float64, device=t.device)
    w = torch.exp(-math.log(max_period) * i / half)
    angle = t.to(torch.float64)[:, None] * w[None, :]
    return torch.cat([torch.sin(angle), torch.cos(angle)], dim=1).to(torch.float32)


# ---- the targets of lesson 11 (docs/likelihood.md) -------------------------------------------------
OBJECTIVES = ("eps", "x0", "v")


def _col(v, like):
    """A (B,) float64 tensor as a float32 column broadcasting against `like` (B, ...)."""
    return v.to(like.device, torch.float32).reshape((-1,) + (1,) * (like.dim() - 1))


def q_sample(x0, eps, alpha_bar_t):
    """x_t = sqrt(ab_t) x_0 + sqrt(1 - ab_t) eps, row b at ab_t[b] (eq. 1.2)."""
    return _col(alpha_bar_t.sqrt(), x0) * x0 + _col((1.0 - alpha_bar_t).sqrt(), x0) * eps


def training_target(objective, x0, eps, alpha_bar_t):
    """What the network learns to predict: eps, x_0, or v = sqrt(ab) eps - sqrt(1 - ab) x_0 (11.10)."""
    if objective == "eps":
        return eps
    if objective == "x0":
        return x0
    if objective == "v":
        return _col(alpha_bar_t.sqrt(), x0) * eps - _col((1.0 - alpha_bar_t).sqrt(), x0) * x0
    raise ValueError("objective %r is not one of %s" % (objective, OBJECTIVES))


def eps_from_prediction(objective, x_t, pred, alpha_bar_t):
    """The noise that a prediction of the target stands for (as src/diffusion/objectives.h):
    eps = pred; (x_t - sqrt(ab) x0_hat) / sqrt(1 - ab); sqrt(1 - ab) x_t + sqrt(ab) v_hat."""
    if objective == "eps":
        return pred
    if objective == "x0":
        return (x_t - _col(alpha_bar_t.sqrt(), x_t) * pred) / _col((1.0 - alpha_bar_t).sqrt(), x_t)
    if objective == "v":
        return _col((1.0 - alpha_bar_t).sqrt(), x_t) * x_t + _col(alpha_bar_t.sqrt(), x_t) * pred
    raise ValueError("objective %r is not one of %s" % (objective, OBJECTIVES))


def min_snr_weight(objective, snr, gamma):
    """Min-SNR-gamma (Hang et al. 2023): the weight that makes each target's loss min(SNR, gamma)
    times the x_0 error: eps min(SNR, g) / SNR, x_0 min(SNR, g), v min(SNR, g) / (SNR + 1)."""
    m = torch.clamp(snr, max=gamma)
    if objective == "eps":
        return m / snr
    if objective == "x0":
        return m
    return m / (snr + 1.0)


def ddpm_step(x, eps, t, schedule, z):
    """x_{t-1} = (x_t - beta_t / sqrt(1 - ab_t) eps) / sqrt(alpha_t) + sqrt(beta_tilde_t) z; no noise at t = 1."""
    coef = float(schedule.beta[t] / (1.0 - schedule.alpha_bar[t]).sqrt())
    mu = (x - coef * eps) / float(schedule.alpha[t].sqrt())
    return mu if t == 1 else mu + float(schedule.beta_tilde[t].sqrt()) * z
