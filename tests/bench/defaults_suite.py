#!/usr/bin/env python3
"""The defaults suite of the ddpm tool (issue 21): data sets that no lesson uses, each scored over
three seeds by the sliced-W1 ratio to its noise floor (`ddpm eval`), for any number of candidate
settings of `ddpm train` and `ddpm sample`.

    defaults_suite.py gen DIR [--chunks K]      write DIR/<set>_train.csv and DIR/<set>_held.csv (with
                                                K > 1: K held-out files <set>_held.<k>.csv, and the
                                                runs sample K x 4,000 rows, one chunk per file)
    defaults_suite.py run DIR CONFIG [CONFIG ...] [--seeds 0,1,2] [--sets A,B] [--jobs 2] [--threads 1]
                                                train, sample and score; results are appended to
                                                DIR/results.tsv, and a (config, set, seed) already
                                                there is not run again (so a cut-off run resumes)
    defaults_suite.py table DIR CONFIG [CONFIG ...] [--seeds 0]
                                                per set: median ratio over the seeds and its range,
                                                one column per config (markdown), and the median
                                                over the sets
    defaults_suite.py configs                   the candidate settings this script knows

Needs only Python's standard library and build/ddpm (make ddpm; DDPM_BIN=path runs another binary). The sets are drawn with Python's
random.Random, whose Mersenne Twister and gauss() give the same numbers on every platform; the
training file and the held-out file of a set come from different seeds. A ratio is
swd(samples, R) / swd(F, R) of `ddpm eval --seed 0` with the held-out file as the data: a ratio of
1 is as close as a fresh sample of the same size. Training and sampling times are recorded beside the
ratios; they depend on the machine and on what else runs, and --jobs 2 --threads 1 (two runs at once)
is not the 2-core time of one run: docs/defaults.md gives that separately.
"""
import math
import os
import random
import statistics
import subprocess
import sys
import time

ROWS = 8000
HERE = os.path.dirname(os.path.abspath(__file__))
DDPM = os.environ.get("DDPM_BIN", os.path.join(HERE, "..", "..", "build", "ddpm"))  # a copy keeps a rebuild out of a long run


# ---- the sets ------------------------------------------------------------------------------------
# Each generator returns n rows (lists of floats) from the stream r. None of these is a lesson's set
# (the lessons use bimodal1d, two_clusters, eight_gaussians, swiss_roll, moons and circles at the
# origin).

def ring_far(r, n):
    """A thin ring of radius 2 centred at (40, -25): far from the origin."""
    rows = []
    for _ in range(n):
        a = r.uniform(0.0, 2.0 * math.pi)
        rad = 2.0 + r.gauss(0.0, 0.06)
        rows.append([40.0 + rad * math.cos(a), -25.0 + rad * math.sin(a)])
    return rows


def grid5(r, n):
    """25 small Gaussians on a 5 x 5 grid of spacing 1 (std 0.07)."""
    return [[r.randrange(5) + r.gauss(0.0, 0.07), r.randrange(5) + r.gauss(0.0, 0.07)] for _ in range(n)]


def spiral2(r, n):
    """Two interleaved arms of an Archimedean spiral, 1.5 turns each, noise 0.04."""
    rows = []
    for _ in range(n):
        arm = r.randrange(2)
        s = math.sqrt(r.random())  # more points further out, where the arm is longer
        a = 3.0 * math.pi * s + arm * math.pi
        rad = 0.3 + 2.0 * s
        rows.append([rad * math.cos(a) + r.gauss(0.0, 0.04), rad * math.sin(a) + r.gauss(0.0, 0.04)])
    return rows


def sine_thin(r, n):
    """A thin curve: y = sin(2x) + N(0, 0.02^2), x uniform on [-3, 3]."""
    rows = []
    for _ in range(n):
        x = r.uniform(-3.0, 3.0)
        rows.append([x, math.sin(2.0 * x) + r.gauss(0.0, 0.02)])
    return rows


def scales2(r, n):
    """Columns of very different scales, far from the origin: x around 50,000 in two lumps of std
    300 at +-1,000, y in thousandths, correlated with x's lump."""
    rows = []
    for _ in range(n):
        lump = 1.0 if r.random() < 0.5 else -1.0
        x = 50000.0 + 1000.0 * lump + r.gauss(0.0, 300.0)
        y = 0.001 * (0.5 * lump + r.gauss(0.0, 0.2))
        rows.append([x, y])
    return rows


def weights3(r, n):
    """Three separated modes of unequal weight (0.75, 0.2, 0.05) and unequal spread."""
    rows = []
    for _ in range(n):
        u = r.random()
        if u < 0.75:
            rows.append([r.gauss(-2.0, 0.5), r.gauss(0.0, 0.5)])
        elif u < 0.95:
            rows.append([r.gauss(2.0, 0.15), r.gauss(1.5, 0.15)])
        else:
            rows.append([r.gauss(2.0, 0.05), r.gauss(-1.5, 0.05)])
    return rows


def helix3(r, n):
    """3 columns: two turns of a helix (cos a, sin a, a / pi), noise 0.03."""
    rows = []
    for _ in range(n):
        a = r.uniform(0.0, 4.0 * math.pi)
        rows.append([math.cos(a) + r.gauss(0.0, 0.03), math.sin(a) + r.gauss(0.0, 0.03),
                     a / math.pi + r.gauss(0.0, 0.03)])
    return rows


def cube3(r, n):
    """3 columns: the 8 corners of a cube of side 2 centred at (100, -100, 100), std 0.15."""
    rows = []
    for _ in range(n):
        k = r.randrange(8)
        c = [100.0 + (1.0 if k & 1 else -1.0), -100.0 + (1.0 if k & 2 else -1.0), 100.0 + (1.0 if k & 4 else -1.0)]
        rows.append([v + r.gauss(0.0, 0.15) for v in c])
    return rows


def mix5d(r, n):
    """5 columns: 4 Gaussians with random means (std 3) and random full covariances (A z, A's entries
    N(0, 0.3^2)); the components are fixed by their own stream, the same for both files."""
    g = random.Random(5005)
    comps = []
    for _ in range(4):
        mean = [g.gauss(0.0, 3.0) for _ in range(5)]
        a = [[g.gauss(0.0, 0.3) for _ in range(5)] for _ in range(5)]
        comps.append((mean, a))
    rows = []
    for _ in range(n):
        mean, a = comps[r.randrange(4)]
        z = [r.gauss(0.0, 1.0) for _ in range(5)]
        rows.append([mean[i] + sum(a[i][j] * z[j] for j in range(5)) for i in range(5)])
    return rows


def manifold8d(r, n):
    """8 columns of scales 1e-3 ... 1e4 (column k is 10^(k-3) times a smooth function of a 2-D
    latent u on [-1, 1]^2, plus 1% noise): a curved 2-D sheet in 8-D."""
    rows = []
    for _ in range(n):
        u, v = r.uniform(-1.0, 1.0), r.uniform(-1.0, 1.0)
        f = [u, v, u * v, math.sin(2.0 * u), math.cos(2.0 * v), u * u - v, math.exp(u) - 1.0, math.tanh(2.0 * v)]
        rows.append([10.0 ** (k - 3) * (f[k] + r.gauss(0.0, 0.01)) for k in range(8)])
    return rows


SETS = [ring_far, grid5, spiral2, sine_thin, scales2, weights3, helix3, cube3, mix5d, manifold8d]


def write_csv(path, rows):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(",".join("c%d" % i for i in range(len(rows[0]))) + "\n")
        for row in rows:
            f.write(",".join("%.9g" % v for v in row) + "\n")
    os.replace(tmp, path)


def gen(directory, chunks=1):
    """The training file (ROWS rows) and the held-out file of each set; with chunks = K > 1 the
    held-out stream goes on to K x ROWS rows, written as K files <set>_held.<k>.csv of ROWS rows
    (the first is the held-out file of chunks = 1, row for row)."""
    os.makedirs(directory, exist_ok=True)
    for k, fn in enumerate(SETS):
        write_csv(os.path.join(directory, "%s_train.csv" % fn.__name__), fn(random.Random(1000 + k), ROWS))
        held = fn(random.Random(2000 + k), ROWS * chunks)
        if chunks == 1:
            write_csv(os.path.join(directory, "%s_held.csv" % fn.__name__), held)
        else:
            for c in range(chunks):
                write_csv(os.path.join(directory, "%s_held.%d.csv" % (fn.__name__, c)), held[c * ROWS:(c + 1) * ROWS])
        print("wrote %s (%d + %d rows)" % (fn.__name__, ROWS, ROWS * chunks))
    with open(os.path.join(directory, "protocol"), "w") as f:
        f.write("chunks %d\n" % chunks)


def chunks_of(directory):
    """K of the directory's protocol (1: the first protocol, one held-out file of ROWS rows)."""
    path = os.path.join(directory, "protocol")
    if not os.path.exists(path):
        return 1
    return int(open(path).read().split()[1])


# ---- the candidate settings ------------------------------------------------------------------------
# name: (flags of ddpm train, flags of ddpm sample). "before" is the tool's defaults before issue 21
# (width 128), spelt out; "after" is the tool's defaults now, no flags (the same run as "h64_s20k").
CONFIGS = {
    "before": (["--hidden", "128"], []),
    "after": ([], []),
    # the same recipe cut to the budget: fewer steps, DDIM on a subsequence of the T = 1000
    "s8k_ddim250": (["--steps", "8000"], ["--sampler", "ddim", "--steps", "250"]),
    "s8k_ddim250_eta1": (["--steps", "8000"], ["--sampler", "ddim", "--steps", "250", "--eta", "1"]),
    # a shorter chain: T = 250 with ancestral sampling (Algorithm 2), schedules that reach noise at T
    "s8k_cos250": (["--steps", "8000", "--schedule", "cosine", "--T", "250"], []),
    "s8k_sig250": (["--steps", "8000", "--schedule", "sigmoid", "--T", "250"], []),
    "s8k_cos1000_ddim250": (["--steps", "8000", "--schedule", "cosine"], ["--sampler", "ddim", "--steps", "250"]),
    # width and depth against steps, at about the same cost
    "h64_s20k_cos250": (["--steps", "20000", "--hidden", "64", "--schedule", "cosine", "--T", "250"], []),
    "res_s6k_cos250": (["--steps", "6000", "--residual", "--layers", "2", "--schedule", "cosine", "--T", "250"], []),
    # the optimiser and the average
    "s8k_cos250_lr2e-3": (["--steps", "8000", "--lr", "2e-3", "--schedule", "cosine", "--T", "250"], []),
    "s8k_cos250_ema9995": (["--steps", "8000", "--ema", "0.9995", "--schedule", "cosine", "--T", "250"], []),
    "s5k_cos250_b512": (["--steps", "5000", "--batch", "512", "--schedule", "cosine", "--T", "250"], []),
    "s8k_cos250_decay": (["--steps", "8000", "--lr-decay", "cosine", "--schedule", "cosine", "--T", "250"], []),
    # round 2: a narrower network that affords T = 1000 steps of ancestral sampling, and the sigmoid
    # schedule with the optimiser's variants
    "h64_s20k": (["--steps", "20000", "--hidden", "64"], []),
    "h64_s20k_sig250": (["--steps", "20000", "--hidden", "64", "--schedule", "sigmoid", "--T", "250"], []),
    "s8k_sig250_lr2e-3": (["--steps", "8000", "--lr", "2e-3", "--schedule", "sigmoid", "--T", "250"], []),
    "s8k_sig250_decay": (["--steps", "8000", "--lr-decay", "cosine", "--schedule", "sigmoid", "--T", "250"], []),
    # round 3: around the narrower network
    "h48_s25k": (["--steps", "25000", "--hidden", "48"], []),
    "h64_s20k_decay": (["--steps", "20000", "--hidden", "64", "--lr-decay", "cosine"], []),
    "h64_s20k_lr2e-3": (["--steps", "20000", "--hidden", "64", "--lr", "2e-3"], []),
    "h64_s20k_sig250_lr2e-3": (["--steps", "20000", "--hidden", "64", "--lr", "2e-3", "--schedule", "sigmoid",
                                "--T", "250"], []),
    "h64_s20k_sig500": (["--steps", "20000", "--hidden", "64", "--schedule", "sigmoid", "--T", "500"], []),
    "h64_s20k_cos500_lr2e-3": (["--steps", "20000", "--hidden", "64", "--lr", "2e-3", "--schedule", "cosine",
                                "--T", "500"], []),
    "s8k_cos250_decay_lr2e-3": (["--steps", "8000", "--lr", "2e-3", "--lr-decay", "cosine", "--schedule", "cosine",
                                 "--T", "250"], []),
    # round 4 (issue 38, under the second arithmetic rule): one change at a time from "after"
    "a_s40k": (["--steps", "40000"], []),
    "a_s60k": (["--steps", "60000"], []),
    "a_b1024": (["--batch", "1024"], []),
    "a_ema9995": (["--ema", "0.9995"], []),
    "a_decay": (["--lr-decay", "cosine"], []),
    "a_h128": (["--hidden", "128"], []),
    "a_res": (["--residual"], []),
    "a_var_beta": ([], ["--variance", "beta"]),
    "a_dpm50": ([], ["--sampler", "dpmpp2m", "--steps", "50"]),
    "a_heun50": ([], ["--sampler", "heun", "--steps", "50"]),
    "a_euler200": ([], ["--sampler", "euler", "--steps", "200"]),
    "a_flow": (["--objective", "flow"], []),
}

# The controlled experiment: tests/bench/recipe_torch.py, our recipe (the "before" defaults) in
# PyTorch, and the same with the switches by which a typical PyTorch implementation differs.
TORCH_CONFIGS = {
    "torch_ours": [],
    "torch_no_clip": ["--no-clip"],
    "torch_t_from_0": ["--t-from-0"],
    "torch_typical": ["--no-clip", "--t-from-0", "--no-ema-warmup", "--fresh-init"],
}
TORCH_PYTHON = "/usr/bin/python3"

# Not a model: fresh rows of the set's generator, scored like samples. Its ratios are the protocol's
# own noise, what a perfect sampler scores.
PERFECT = "perfect"


# ---- running ---------------------------------------------------------------------------------------
def read_results(path):
    done = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                p = line.rstrip("\n").split("\t")
                if len(p) == 6 and p[0] != "config":
                    done[(p[0], p[1], int(p[2]))] = (float(p[3]), float(p[4]), float(p[5]))
    return done


def run_one(directory, config, name, seed, threads):
    work = os.path.join(directory, "work", "%s.%s.%d" % (config, name, seed))
    os.makedirs(work, exist_ok=True)
    model, out = os.path.join(work, "model.ckpt"), os.path.join(work, "samples.csv")
    for leftover in (model, out):
        if os.path.exists(leftover):
            os.remove(leftover)
    t0 = time.time()
    if config == PERFECT:
        # fresh rows of the set's own generator (a stream no file uses): what a perfect model scores
        fn = [f for f in SETS if f.__name__ == name][0]
        write_csv(out, fn(random.Random(9000 + seed), sample_rows(directory)))
        open(model, "w").close()
        t1 = t2 = time.time()
    elif config in TORCH_CONFIGS:
        if chunks_of(directory) != 1:
            raise RuntimeError("recipe_torch.py writes 8,000 rows: the torch configs need a suite made without --chunks")
        subprocess.run([TORCH_PYTHON, os.path.join(HERE, "recipe_torch.py"), os.path.join(directory, name + "_train.csv"),
                        out, "--seed", str(seed), "--threads", str(threads)] + TORCH_CONFIGS[config],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env=dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads)))
        t1 = t2 = time.time()  # training and sampling together
        open(model, "w").close()
    else:
        train_flags, sample_flags = CONFIGS[config]
        t1, t2 = run_tool(directory, name, seed, threads, model, out, train_flags, sample_flags, t0)
    return score(directory, config, name, seed, threads, model, out, t0, t1, t2)


def run_tool(directory, name, seed, threads, model, out, train_flags, sample_flags, t0):
    subprocess.run([DDPM, "train", "--data", os.path.join(directory, name + "_train.csv"), "--model", model,
                    "--seed", str(seed), "--threads", str(threads)] + train_flags,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t1 = time.time()
    subprocess.run([DDPM, "sample", "--model", model, "--out", out, "--n", str(sample_rows(directory)), "--seed", str(seed),
                    "--threads", str(threads)] + sample_flags,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return t1, time.time()


def sample_rows(directory):
    """ROWS for the first protocol (ddpm eval uses the first ROWS / 2 of them); K x ROWS / 2 with K chunks."""
    k = chunks_of(directory)
    return ROWS if k == 1 else k * ROWS // 2


def swd_value_and_floor(samples, held, threads):
    """sliced W1 of ddpm eval --seed 0: (samples to the reference half of held, floor half to reference half)."""
    ev = subprocess.run([DDPM, "eval", "--samples", samples, "--data", held, "--seed", "0", "--threads", str(threads)],
                        check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
    for line in ev.splitlines():
        p = line.split()
        if p and p[0] == "sliced_w1":
            return float(p[1]), float(p[2])
    raise RuntimeError("no sliced_w1 line in ddpm eval's output for %s against %s" % (samples, held))


def score(directory, config, name, seed, threads, model, out, t0, t1, t2):
    """The ratio: with one held-out file, ddpm eval's value / floor; with K chunks, the sum of the K
    chunks' values over the sum of their floors (sample rows c x ROWS / 2 ... against held chunk c),
    so that the ratio's own noise falls as 1 / sqrt(K) (docs/defaults.md, issue 38)."""
    k = chunks_of(directory)
    if k == 1:
        value, floor = swd_value_and_floor(out, os.path.join(directory, name + "_held.csv"), threads)
    else:
        with open(out) as f:
            lines = f.read().splitlines()
        header, rows, half = lines[0], lines[1:], ROWS // 2
        value = floor = 0.0
        for c in range(k):
            part = out + ".%d.csv" % c
            with open(part, "w") as f:
                f.write("\n".join([header] + rows[c * half:(c + 1) * half]) + "\n")
            v, fl = swd_value_and_floor(part, os.path.join(directory, "%s_held.%d.csv" % (name, c)), threads)
            value, floor = value + v, floor + fl
            os.remove(part)
    for leftover in (model, out):
        os.remove(leftover)
    return value / floor, t1 - t0, t2 - t1


def run(directory, configs, seeds, jobs, threads, sets=None):
    import concurrent.futures
    path = os.path.join(directory, "results.tsv")
    done = read_results(path)
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write("config\tset\tseed\tratio\ttrain_s\tsample_s\n")
    names = [fn.__name__ for fn in SETS if sets is None or fn.__name__ in sets]
    todo = [(c, n, s) for c in configs for s in seeds for n in names if (c, n, s) not in done]
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(run_one, directory, c, n, s, threads): (c, n, s) for c, n, s in todo}
        for fut in concurrent.futures.as_completed(futures):
            c, n, s = futures[fut]
            ratio, tt, ts = fut.result()
            with open(path, "a") as f:
                f.write("%s\t%s\t%d\t%.4f\t%.2f\t%.2f\n" % (c, n, s, ratio, tt, ts))
            print("%-22s %-11s seed %d  ratio %.3f  train %.1f s  sample %.1f s" % (c, n, s, ratio, tt, ts), flush=True)


def table(directory, configs, seeds=None):
    done = read_results(os.path.join(directory, "results.tsv"))
    if seeds is not None:
        done = {k: v for k, v in done.items() if k[2] in seeds}
    print("| set | " + " | ".join(configs) + " |")
    print("|---|" + "---|" * len(configs))
    medians = {c: [] for c in configs}
    for fn in SETS:
        cells = []
        for c in configs:
            r = sorted(v[0] for (cc, n, s), v in done.items() if cc == c and n == fn.__name__)
            if not r:
                cells.append("-")
                continue
            m = statistics.median(r)
            medians[c].append(m)
            cells.append("%.2f (%.2f-%.2f)" % (m, r[0], r[-1]) if len(r) > 1 else "%.2f" % m)
        print("| %s | %s |" % (fn.__name__, " | ".join(cells)))
    print("| **median of the sets** | " + " | ".join(
        "**%.2f**" % statistics.median(medians[c]) if medians[c] else "-" for c in configs) + " |")
    print("| worst set | " + " | ".join("%.2f" % max(medians[c]) if medians[c] else "-" for c in configs) + " |")


def main(argv):
    if len(argv) >= 2 and argv[1] == "configs":
        for name, (tf, sf) in CONFIGS.items():
            print("%-22s train %s; sample %s" % (name, " ".join(tf) or "(defaults)", " ".join(sf) or "(defaults)"))
        for name, switches in TORCH_CONFIGS.items():
            print("%-22s recipe_torch.py %s" % (name, " ".join(switches) or "(our recipe)"))
        print("%-22s fresh rows of the set's own generator: the protocol's noise" % PERFECT)
        return 0
    if len(argv) in (3, 5) and argv[1] == "gen" and (len(argv) == 3 or argv[3] == "--chunks"):
        gen(argv[2], int(argv[4]) if len(argv) == 5 else 1)
        return 0
    if len(argv) >= 4 and argv[1] in ("run", "table"):
        directory, rest = argv[2], argv[3:]
        seeds, jobs, threads, configs, sets = [0, 1, 2], 2, 1, [], None
        i = 0
        while i < len(rest):
            if rest[i] in ("--seeds", "--jobs", "--threads", "--sets") and i + 1 < len(rest):
                if rest[i] == "--sets":
                    sets = rest[i + 1].split(",")
                    unknown = [n for n in sets if n not in [fn.__name__ for fn in SETS]]
                    if unknown:
                        sys.stderr.write("defaults_suite.py: unknown set '%s'\n" % unknown[0])
                        return 2
                elif rest[i] == "--seeds":
                    seeds = [int(s) for s in rest[i + 1].split(",")]
                elif rest[i] == "--jobs":
                    jobs = int(rest[i + 1])
                else:
                    threads = int(rest[i + 1])
                i += 2
            else:
                if rest[i] not in CONFIGS and rest[i] not in TORCH_CONFIGS and rest[i] != PERFECT:
                    sys.stderr.write("defaults_suite.py: unknown config '%s' (defaults_suite.py configs lists them)\n"
                                     % rest[i])
                    return 2
                configs.append(rest[i])
                i += 1
        if argv[1] == "run":
            run(directory, configs, seeds, jobs, threads, sets)
        else:
            table(directory, configs, seeds if "--seeds" in rest else None)
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
