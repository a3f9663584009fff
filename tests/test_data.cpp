// The data sets: toy generators (shape, seeds, moments) and CSV files (round trip, every error).
#include <doctest/doctest.h>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "store/csv.h"
#include "diffusion/data.h"
#include "core/io.h"
#include "core/pool.h"

using namespace ddpm;

namespace {

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// The moments of one coordinate c of a mixture, in closed form. With delta_k = mean_kc - m:
//   m = sum_k w_k mean_kc,   var = sum_k w_k (std_k^2 + delta_k^2),
//   m4 = E[(x - m)^4] = sum_k w_k (delta_k^4 + 6 delta_k^2 std_k^2 + 3 std_k^4).
struct Moments {
    double mean = 0, var = 0, m4 = 0;
};

Moments mixture_moments(const GaussianMixture& gm, int c) {
    Moments m;
    for (int k = 0; k < gm.components(); ++k) m.mean += gm.weights[size_t(k)] * gm.means[size_t(k * gm.dim + c)];
    for (int k = 0; k < gm.components(); ++k) {
        const double w = gm.weights[size_t(k)], s2 = double(gm.stds[size_t(k)]) * gm.stds[size_t(k)];
        const double delta = gm.means[size_t(k * gm.dim + c)] - m.mean;
        m.var += w * (s2 + delta * delta);
        m.m4 += w * (delta * delta * delta * delta + 6 * delta * delta * s2 + 3 * s2 * s2);
    }
    return m;
}

// Sample mean and population variance against the mixture's, within 5 standard errors each:
// se(mean) = sqrt(var / n), se(variance) = sqrt((m4 - var^2) / n).
void check_sample_moments(const GaussianMixture& gm, const Dataset& d) {
    const std::vector<double> mean = column_means(d), std_dev = column_stds(d);
    const double n = d.n();
    for (int c = 0; c < gm.dim; ++c) {
        const Moments m = mixture_moments(gm, c);
        CAPTURE(c);
        CHECK(std::fabs(mean[size_t(c)] - m.mean) < 5 * std::sqrt(m.var / n));
        CHECK(std::fabs(std_dev[size_t(c)] * std_dev[size_t(c)] - m.var) < 5 * std::sqrt((m.m4 - m.var * m.var) / n));
    }
}

// Each component is chosen with its weight: the count is binomial(n, w_k), within 5 standard deviations.
void check_component_counts(const GaussianMixture& gm, const Dataset& d) {
    const double n = d.n();
    for (int k = 0; k < gm.components(); ++k) {
        int count = 0;
        for (float colour : d.colour) count += colour == float(k) ? 1 : 0;
        const double w = gm.weights[size_t(k)];
        CAPTURE(k);
        CHECK(std::fabs(count - n * w) < 5 * std::sqrt(n * w * (1 - w)) + 1e-9);
    }
}

// A scratch folder for CSV files, removed when the test case ends.
struct TempDir {
    std::string path;
    explicit TempDir(const std::string& name) {
        path = (std::filesystem::temp_directory_path() / name).string();
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    std::string file(const std::string& name) const { return path + "/" + name; }
};

void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary);
    out << bytes;
}

// The message load_csv throws for a file holding `bytes`, or "" when it loads.
std::string csv_error(const std::string& path, const std::string& bytes) {
    write_bytes(path, bytes);
    try {
        load_csv(path);
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------
TEST_CASE("data: every generator gives n points of its dimension, a colour each, in about [-2.5, 2.5]") {
    const int n = 2000;
    for (const std::string& name : dataset_names()) {
        CAPTURE(name);
        Dataset d = make_dataset(name, n, 1);
        CHECK(d.name == name);
        CHECK(d.dim == (name == "bimodal1d" ? 1 : 2));
        CHECK(d.n() == n);
        CHECK(d.x.size() == size_t(n) * size_t(d.dim));
        CHECK(d.colour.size() == size_t(n));
        float largest = 0.0f;
        for (float v : d.x) largest = std::fmax(largest, std::fabs(v));
        CHECK(std::isfinite(largest));
        CHECK(largest < 3.5f);
        CHECK(largest > 1.0f);
        // Used raw against unit-variance noise: centred, with a spread of order 1 (two_clusters is
        // the extreme: std 2.03 across the clusters, 0.35 along them).
        const std::vector<double> mean = column_means(d), std_dev = column_stds(d);
        for (int c = 0; c < d.dim; ++c) {
            CHECK(std::fabs(mean[size_t(c)]) < 0.3);
            CHECK(std_dev[size_t(c)] > 0.3);
            CHECK(std_dev[size_t(c)] < 2.1);
        }
    }
}

TEST_CASE("data: the same seed gives the same bits, another seed another sample, a smaller n a prefix") {
    for (const std::string& name : dataset_names()) {
        CAPTURE(name);
        Dataset a = make_dataset(name, 500, 7), b = make_dataset(name, 500, 7), c = make_dataset(name, 500, 8);
        CHECK(same_bits(a.x, b.x));
        CHECK(same_bits(a.colour, b.colour));
        CHECK_FALSE(same_bits(a.x, c.x));
        // Point i uses counter i of each stream: a smaller sample is a prefix of a larger one.
        Dataset prefix = make_dataset(name, 100, 7);
        CHECK(same_bits(prefix.x, std::vector<float>(a.x.begin(), a.x.begin() + 100 * a.dim)));
    }
}

TEST_CASE("data: samples do not depend on the thread count") {
    const int saved = num_threads();
    const int n = 40000;  // several chunks of the Rng's fills
    for (const std::string& name : dataset_names()) {
        CAPTURE(name);
        set_num_threads(1);
        Dataset one = make_dataset(name, n, 3);
        set_num_threads(3);
        Dataset three = make_dataset(name, n, 3);
        CHECK(same_bits(one.x, three.x));
        CHECK(same_bits(one.colour, three.colour));
    }
    set_num_threads(saved);
}

TEST_CASE("data: sample_mixture matches the mixture's mean, variance and weights") {
    GaussianMixture gm;
    gm.dim = 2;
    gm.weights = {0.2f, 0.5f, 0.3f};
    gm.means = {-1.0f, 2.0f, 0.5f, 0.0f, 3.0f, -1.0f};
    gm.stds = {0.3f, 1.0f, 0.5f};
    Dataset d = sample_mixture(gm, 200000, 11, "three");
    CHECK(d.name == "three");
    check_sample_moments(gm, d);
    check_component_counts(gm, d);

    for (const std::string name : {"bimodal1d", "two_clusters", "eight_gaussians"}) {
        CAPTURE(name);
        const GaussianMixture named = name == "bimodal1d"      ? bimodal_1d_mixture()
                                      : name == "two_clusters" ? two_clusters_mixture()
                                                               : eight_gaussians_mixture();
        Dataset sample = make_dataset(name, 100000, 5);
        check_sample_moments(named, sample);
        check_component_counts(named, sample);
    }
}

TEST_CASE("data: each point lies near the mean of the component its colour names") {
    const GaussianMixture gm = eight_gaussians_mixture();
    Dataset d = make_eight_gaussians(5000, 2);
    for (int i = 0; i < d.n(); ++i) {
        const int k = int(d.colour[size_t(i)]);
        const double dx = d.at(i, 0) - gm.means[size_t(2 * k)], dy = d.at(i, 1) - gm.means[size_t(2 * k + 1)];
        CHECK(std::sqrt(dx * dx + dy * dy) < 0.7);  // 7 stds: the next mode is 1.53 away
    }
}

TEST_CASE("data: the mixtures have the documented parameters") {
    const GaussianMixture bimodal = bimodal_1d_mixture();
    CHECK(bimodal.dim == 1);
    CHECK(bimodal.weights == std::vector<float>{0.5f, 0.5f});
    CHECK(bimodal.means == std::vector<float>{-1.35f, 1.35f});
    CHECK(bimodal.stds == std::vector<float>{0.25f, 0.25f});

    const GaussianMixture clusters = two_clusters_mixture();
    CHECK(clusters.dim == 2);
    CHECK(clusters.means == std::vector<float>{-2.0f, 0.0f, 2.0f, 0.0f});
    CHECK(clusters.stds == std::vector<float>{0.35f, 0.35f});

    const GaussianMixture ring = eight_gaussians_mixture();
    REQUIRE(ring.components() == 8);
    CHECK(ring.means[0] == 2.0f);
    CHECK(ring.means[1] == 0.0f);
    for (int k = 0; k < 8; ++k) {
        CHECK(ring.weights[size_t(k)] == 0.125f);
        CHECK(ring.stds[size_t(k)] == 0.1f);
        const double angle = 2 * M_PI * k / 8;
        CHECK(ring.means[size_t(2 * k)] == doctest::Approx(2 * std::cos(angle)).epsilon(1e-6));
        CHECK(ring.means[size_t(2 * k + 1)] == doctest::Approx(2 * std::sin(angle)).epsilon(1e-6));
    }
}

TEST_CASE("data: the 1-D bimodal set has variance 1.885, close to the 1.89 of [000] table 1") {
    const Moments m = mixture_moments(bimodal_1d_mixture(), 0);
    CHECK(m.mean == doctest::Approx(0.0));
    CHECK(m.var == doctest::Approx(1.885).epsilon(1e-6));
    Dataset d = make_bimodal_1d(200000, 0);
    const double sample_var = column_stds(d)[0] * column_stds(d)[0];
    CHECK(std::fabs(sample_var - 1.885) < 5 * std::sqrt((m.m4 - m.var * m.var) / d.n()));
    CHECK(std::fabs(sample_var - 1.89) < 0.02);
}

TEST_CASE("data: swiss roll colour lies in [0, 1] and follows the roll outwards") {
    Dataset d = make_swiss_roll(10000, 4);
    double mean_radial_error = 0.0;
    for (int i = 0; i < d.n(); ++i) {
        const float s = d.colour[size_t(i)];
        REQUIRE(s >= 0.0f);
        REQUIRE(s <= 1.0f);
        // Undo the centring and the scale: the radius of the unscaled spiral is t itself.
        const double ux = d.at(i, 0) / 0.2 + 2.0, uy = d.at(i, 1) / 0.2 + 2.0 / (3.0 * M_PI);
        const double t = 1.5 * M_PI + 3.0 * M_PI * s;
        mean_radial_error += std::fabs(std::sqrt(ux * ux + uy * uy) - t) / d.n();
    }
    // Noise of std 0.1 is 0.5 before scaling; its radial part has mean |.| of 0.5 sqrt(2 / pi) = 0.40.
    CHECK(mean_radial_error < 0.45);
}

TEST_CASE("data: moons and circles are made of their two parts, colours 0 and 1") {
    Dataset moons = make_moons(20000, 6), circles = make_circles(20000, 6);
    int upper = 0, inner = 0;
    double inner_radius = 0.0, outer_radius = 0.0;
    for (int i = 0; i < moons.n(); ++i) {
        upper += moons.colour[size_t(i)] == 0.0f ? 1 : 0;
        const bool is_inner = circles.colour[size_t(i)] == 0.0f;
        const double r = std::hypot(circles.at(i, 0), circles.at(i, 1));
        inner += is_inner ? 1 : 0;
        (is_inner ? inner_radius : outer_radius) += r;
    }
    CHECK(std::abs(upper - 10000) < 5 * 71);  // binomial(20000, 1/2): std 71
    CHECK(std::abs(inner - 10000) < 5 * 71);
    CHECK(inner_radius / inner == doctest::Approx(1.0).epsilon(0.02));
    CHECK(outer_radius / (20000 - inner) == doctest::Approx(2.0).epsilon(0.02));
}

TEST_CASE("data: make_dataset knows its names and lists them for an unknown one") {
    CHECK(dataset_names() ==
          std::vector<std::string>{"bimodal1d", "two_clusters", "eight_gaussians", "swiss_roll", "moons", "circles"});
    CHECK(same_bits(make_dataset("moons", 100, 9).x, make_moons(100, 9).x));
    CHECK(same_bits(make_dataset("two_clusters", 100, 9).x, make_two_clusters(100, 9).x));
    CHECK_THROWS_WITH(make_dataset("spiral", 100, 0),
                      "unknown data set 'spiral'; known: bimodal1d, two_clusters, eight_gaussians, swiss_roll, moons, "
                      "circles");
}

TEST_CASE("data: a bad n or a malformed mixture fails with one line") {
    CHECK_THROWS_WITH(make_moons(0, 0), "make_moons: n must be >= 1, got 0");
    CHECK_THROWS_WITH(make_dataset("swiss_roll", -3, 0), "make_swiss_roll: n must be >= 1, got -3");
    GaussianMixture gm = two_clusters_mixture();
    gm.weights = {0.5f, 0.6f};
    CHECK_THROWS_WITH(sample_mixture(gm, 10, 0, "bad"), "sample_mixture: the weights sum to 1.1, not 1");
    gm = two_clusters_mixture();
    gm.means.pop_back();
    CHECK_THROWS_WITH(sample_mixture(gm, 10, 0, "bad"), "sample_mixture: 2 components in 2-D need 4 mean values, got 3");
    gm = two_clusters_mixture();
    gm.stds[1] = -1.0f;
    CHECK_THROWS_WITH(sample_mixture(gm, 10, 0, "bad"), "sample_mixture: std 1 is -1, must be finite and >= 0");
    gm = GaussianMixture{};
    gm.dim = 2;
    CHECK_THROWS_WITH(sample_mixture(gm, 10, 0, "bad"), "sample_mixture: the mixture has no components");
}

// ---------------------------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------------------------
TEST_CASE("data: column means and population stds") {
    Dataset d;
    d.name = "hand";
    d.dim = 2;
    d.x = {1, 10, 3, 20, 5, 60};
    const std::vector<double> mean = column_means(d), std_dev = column_stds(d);
    CHECK(mean[0] == doctest::Approx(3.0));
    CHECK(mean[1] == doctest::Approx(30.0));
    CHECK(std_dev[0] == doctest::Approx(std::sqrt(8.0 / 3.0)));      // deviations -2, 0, 2
    CHECK(std_dev[1] == doctest::Approx(std::sqrt(1400.0 / 3.0)));   // deviations -20, -10, 30

    // Far from the origin the two-pass std keeps its digits.
    Dataset far;
    far.dim = 1;
    far.x = {10000.5f, 9999.5f, 10000.5f, 9999.5f};
    CHECK(column_stds(far)[0] == doctest::Approx(0.5).epsilon(1e-12));

    Dataset empty;
    empty.name = "none";
    empty.dim = 2;
    CHECK_THROWS_WITH(column_means(empty), "column_means: data set 'none' has no points");
}

// ---------------------------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------------------------
TEST_CASE("data: CSV round trip keeps every float bit for bit") {
    TempDir dir("ddpm_data_roundtrip");
    Dataset d = make_swiss_roll(300, 1);
    // Floats whose shortest decimal form is long or extreme.
    const float extremes[] = {FLT_MAX, -FLT_MAX, FLT_MIN, -FLT_MIN, FLT_TRUE_MIN, -0.0f, 0.1f, 1.0f / 3.0f,
                              16777217.0f, 1e-30f, 123456789.0f, 0.0f};
    for (float v : extremes) {
        d.x.push_back(v);
        d.x.push_back(-v / 7.0f);
    }
    save_csv(dir.file("roll.csv"), d, {"x", "y"});
    Dataset back = load_csv(dir.file("roll.csv"));
    CHECK(back.name == "roll.csv");
    CHECK(back.dim == 2);
    CHECK(back.n() == d.n());
    CHECK(back.colour.empty());
    CHECK(same_bits(back.x, d.x));
    for (const auto& e : std::filesystem::directory_iterator(dir.path))  // no temporary file is left
        CHECK(e.path().filename().string().rfind("roll.csv.", 0) != 0);

    save_csv(dir.file("plain.csv"), d);  // no header
    CHECK(same_bits(load_csv(dir.file("plain.csv")).x, d.x));
    CHECK(read_file(dir.file("plain.csv")).substr(0, 1) != "x");

    Dataset line;
    line.dim = 3;
    line.x = {0.5f, -2.0f, 1e-3f};
    save_csv(dir.file("line.csv"), line, {"a", "b", "c"});
    CHECK(read_file(dir.file("line.csv")) == "a,b,c\n0.5,-2,0.00100000005\n");
}

TEST_CASE("data: CSV header detection and the lenient parts of the format") {
    TempDir dir("ddpm_data_header");
    const std::string p = dir.file("h.csv");
    write_bytes(p, "x,y\n1,2\n3,4\n");
    Dataset with_header = load_csv(p);
    CHECK(with_header.n() == 2);
    CHECK(with_header.x == std::vector<float>{1, 2, 3, 4});

    write_bytes(p, "1,2\n3,4\n");
    CHECK(load_csv(p).n() == 2);  // all numbers: line 1 is data

    CHECK(with_header.header == std::vector<std::string>{"x", "y"});  // the file is read once, header and all

    write_bytes(p, "x,\n3,4\n");  // an empty name (pandas' index column) is still a header
    CHECK(load_csv(p).header == std::vector<std::string>{"x", ""});
    CHECK(load_csv(p).x == std::vector<float>{3, 4});

    // A header is a line with no field that reads as a number: a line of both is an error naming the
    // line, never a header silently dropped (a typo in the first row) nor data.
    CHECK(csv_error(p, "1,label\n3,4\n") ==
          p + ":1: column 2: 'label' is not a number, but column 1 '1' is (a header line holds names only)");
    CHECK(csv_error(p, "1.2.3,4\n5,6\n") ==
          p + ":1: column 1: '1.2.3' is not a number, but column 2 '4' is (a header line holds names only)");
    CHECK(csv_error(p, "12abc,4\n5,6\n") ==
          p + ":1: column 1: '12abc' is not a number, but column 2 '4' is (a header line holds names only)");
    CHECK(csv_error(p, "x,inf\n5,6\n") ==
          p + ":1: column 1: 'x' is not a number, but column 2 'inf' is (a header line holds names only)");
    // Header names: no control byte (it would reach messages and the model file), at most 1024 bytes.
    CHECK(csv_error(p, "x,a\x1b[31mb\n5,6\n") == p + ":1: column 2: header name 'a?[31mb' holds a control byte");
    CHECK(csv_error(p, "x," + std::string(1025, 'n') + "\n5,6\n") ==
          p + ":1: column 2: header name of 1025 bytes; at most 1024");
    CHECK(csv_error(p, "x," + std::string(1024, 'n') + "\n5,6\n").empty());

    // Spaces and tabs around fields, CRLF, a byte-order mark, '+' and exponents, blank lines at the end.
    write_bytes(p, "\xEF\xBB\xBF time , value\r\n 1.5 ,\t+2e1\r\n-0.25,3E-2 \r\n\r\n  \n\n");
    Dataset lenient = load_csv(p);
    CHECK(lenient.dim == 2);
    CHECK(lenient.x == std::vector<float>{1.5f, 20.0f, -0.25f, 0.03f});

    write_bytes(p, "v\n1\n2\n3");  // one column, no final newline
    Dataset column = load_csv(p);
    CHECK(column.dim == 1);
    CHECK(column.x == std::vector<float>{1, 2, 3});

    write_bytes(p, "1e-50,2\n");  // underflow reads as the nearest float, 0
    CHECK(load_csv(p).x == std::vector<float>{0, 2});

    // "nan" reads as a number, so line 1 is data, and the NaN is reported rather than dropped.
    CHECK(csv_error(p, "nan,1\n2,3\n") == p + ":1: column 1: 'nan' is NaN");
}

TEST_CASE("data: every CSV error is one line naming the file and the line") {
    TempDir dir("ddpm_data_errors");
    const std::string p = dir.file("bad.csv");
    CHECK(csv_error(p, "x,y\n1,2\n3,abc\n") == p + ":3: column 2: 'abc' is not a number");
    CHECK(csv_error(p, "x,y\n1,2\n3,4.5.6\n") == p + ":3: column 2: '4.5.6' is not a number");
    CHECK(csv_error(p, "x,y\n1,\n") == p + ":2: column 2: empty field");
    CHECK(csv_error(p, "x,y\nNaN,2\n") == p + ":2: column 1: 'NaN' is NaN");
    CHECK(csv_error(p, "x,y\n1,-inf\n") == p + ":2: column 2: '-inf' is infinite");
    CHECK(csv_error(p, "x,y\n1,Infinity\n") == p + ":2: column 2: 'Infinity' is infinite");
    CHECK(csv_error(p, "x,y\n1e39,2\n") == p + ":2: column 1: '1e39' is outside the float range");
    CHECK(csv_error(p, "x,y\n1,-4e38\n") == p + ":2: column 2: '-4e38' is outside the float range");
    CHECK(csv_error(p, "1,2\n3,4\n5,6,7\n") == p + ":3: 3 fields where line 1 has 2");
    CHECK(csv_error(p, "1,2\n3\n") == p + ":2: 1 field where line 1 has 2");
    CHECK(csv_error(p, "x,y,z\n1,2\n") == p + ":2: 2 fields where line 1 has 3");
    CHECK(csv_error(p, "x,y\n1,2\n\n3,4\n") == p + ":3: blank line (blank lines are allowed only at the end of the file)");
    CHECK(csv_error(p, "\n1,2\n") == p + ":1: blank line (blank lines are allowed only at the end of the file)");
    CHECK(csv_error(p, "") == p + ": empty file");
    CHECK(csv_error(p, "\n \r\n\n") == p + ": empty file");
    CHECK(csv_error(p, "x,y\n") == p + ": only a header line, no data rows");
    CHECK(csv_error(p, "x,y\r\n\r\n") == p + ": only a header line, no data rows");

    const std::string missing = dir.file("missing.csv");
    CHECK_THROWS_WITH(load_csv(missing), (missing + ": cannot open: No such file or directory").c_str());
    CHECK_THROWS_WITH(load_csv(dir.path), (dir.path + ": is a directory, not a file").c_str());

    // What the tool reads at most: 4096 columns, checked on line 1 (before a value is kept), and a
    // row limit when the caller gives one.
    std::string wide;
    for (int c = 0; c < 4097; ++c) wide += (c ? "," : "") + std::to_string(c);
    CHECK(csv_error(p, wide + "\n") == p + ": 4097 columns; the tool takes at most 4096");
    write_bytes(p, "x\n1\n2\n3\n");
    CHECK(load_csv(p, 3).n() == 3);
    CHECK_THROWS_WITH(load_csv(p, 2), (p + ":4: more than 2 rows; the most that is read").c_str());
    // Not a regular file: refused before it is opened (a FIFO would block, /dev/zero never end).
    CHECK_THROWS_WITH(load_csv("/dev/zero"), "/dev/zero: is a character device, not a regular file; only regular files are read");

    // Binary junk: still one line, the field cut short and its control bytes shown as '?'.
    const std::string junk = csv_error(p, "1,2\n3,\x01\x02\rabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz\n");
    CHECK(junk == p + ":2: column 2: '???abcdefghijklmnopqrstuvwxyzabcdefgh...' is not a number");
    CHECK(junk.find('\n') == std::string::npos);
}

TEST_CASE("data: save_csv refuses what load_csv could not read back") {
    TempDir dir("ddpm_data_save");
    const std::string p = dir.file("out.csv");
    Dataset d = make_two_clusters(10, 0);
    CHECK_THROWS_WITH(save_csv(p, d, {"x"}), (p + ": header has 1 name for 2 columns").c_str());
    CHECK_THROWS_WITH(save_csv(p, d, {"x,1", "y"}), (p + ": header name 'x,1' contains a comma").c_str());
    CHECK_THROWS_WITH(save_csv(p, d, {"x\ny", "y"}), (p + ": header name 'x?y' holds a control byte").c_str());
    CHECK_THROWS_WITH(save_csv(p, d, {"1", "2"}), (p + ": header name '1' reads as a number").c_str());
    CHECK_THROWS_WITH(save_csv(p, d, {"x", "nan"}), (p + ": header name 'nan' reads as a number").c_str());
    CHECK_THROWS_WITH(save_csv(p, d, {"", ""}), (p + ": header names are all empty").c_str());
    CHECK_THROWS_WITH(save_csv(p, d, {" x", "y"}), (p + ": header name ' x' begins or ends with a space").c_str());
    d.x[3] = NAN;
    CHECK_THROWS_WITH(save_csv(p, d), (p + ": row 2 column 2 is nan; a CSV of ours holds finite numbers only").c_str());
    CHECK_FALSE(std::filesystem::exists(p));
    Dataset empty;
    empty.name = "none";
    empty.dim = 2;
    CHECK_THROWS_WITH(save_csv(p, empty), ("save_csv " + p + ": data set 'none' has no points").c_str());
}

TEST_CASE("data: parse_csv reads bytes in memory, names the source, and keeps memory to one line at a time") {
    const Dataset d = parse_csv("x,y\n1,2\n3,4\n", "mem.csv");
    CHECK(d.name == "mem.csv");
    CHECK(d.x == std::vector<float>{1, 2, 3, 4});
    CHECK_THROWS_WITH(parse_csv("1,2\n3\n", "mem.csv"), "mem.csv:2: 1 field where line 1 has 2");
    // Ten million line breaks: an empty file, found without a string per line (the old reader kept
    // every line, about 40 bytes each).
    CHECK_THROWS_WITH(parse_csv(std::string(10000000, '\n'), "blank.csv"), "blank.csv: empty file");
    CHECK_THROWS_WITH(parse_csv("1,2\n" + std::string(1000000, '\n') + "3,4\n", "gap.csv"),
                      "gap.csv:2: blank line (blank lines are allowed only at the end of the file)");
}
