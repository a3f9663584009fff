#include "app/normalise.h"

#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "core/common.h"
#include "core/io.h"
#include "store/csv.h"

namespace ddpm {

namespace {

std::string column_name(const std::vector<std::string>& header, int c) {
    std::string name = "column " + std::to_string(c + 1);
    if (size_t(c) < header.size()) name += " ('" + shown(header[size_t(c)]) + "')";
    return name;
}

// The numbers of a space-separated entry; the entry must hold exactly `count` finite numbers.
std::vector<double> read_doubles(const Checkpoint& ckpt, const std::string& key, int count, const std::string& source) {
    const std::string text = ckpt.get_meta(key);
    std::vector<double> values;
    const char* p = text.c_str();
    char* end = nullptr;
    for (double v = std::strtod(p, &end); end != p; v = std::strtod(p, &end)) {
        if (!std::isfinite(v)) fail(source + ": entry '" + key + "' holds a value that is not finite");
        values.push_back(v);
        p = end;
    }
    while (*p == ' ') ++p;
    if (*p != '\0' || int(values.size()) != count)
        fail(source + ": entry '" + key + "' should hold " + std::to_string(count) + " numbers: '" + shown(text) + "'");
    return values;
}

std::string trimmed(const std::string& s) {
    size_t first = 0, last = s.size();
    while (first < last && (s[first] == ' ' || s[first] == '\t')) ++first;
    while (last > first && (s[last - 1] == ' ' || s[last - 1] == '\t')) --last;
    return s.substr(first, last - first);
}

std::vector<std::string> split_commas(const std::string& line) {
    std::vector<std::string> fields;
    size_t begin = 0;
    while (true) {
        size_t end = line.find(',', begin);
        if (end == std::string::npos) end = line.size();
        fields.push_back(trimmed(line.substr(begin, end - begin)));
        if (end == line.size()) return fields;
        begin = end + 1;
    }
}

}  // namespace

std::string join_doubles(const std::vector<double>& values) {
    std::string out;
    for (size_t i = 0; i < values.size(); ++i) out += (i ? " " : "") + fmt_exact(values[i]);
    return out;
}

namespace {

// Samples are mean + std * z in float: a column whose mean and spread leave no room for z of
// kSampleRoom standard deviations would give samples beyond the float range, found only at the end of
// sampling. Refused when the data is read (and when a model holding such a column is loaded).
const double kSampleRoom = 10.0;
void check_float_room(const Normalisation& nm, int c, const std::string& source, const std::string& what) {
    const double m = nm.mean[size_t(c)], s = nm.std[size_t(c)];
    if (std::fabs(m) + kSampleRoom * s <= double(FLT_MAX)) return;
    fail(source + ": " + what + column_name(nm.header, c) + " has mean " + fmt_g(m) + " and std " + fmt_g(s) +
         ": samples " + fmt_g(kSampleRoom) + " standard deviations out would pass the float range (" +
         fmt_g(double(FLT_MAX)) + "); scale the column down");
}

}  // namespace

Normalisation fit_normalisation(const Dataset& d, const std::string& source, std::vector<std::string>* notes) {
    Normalisation nm;
    nm.mean = column_means(d);
    nm.std = column_stds(d);
    nm.header = d.header;
    for (int c = 0; c < d.dim; ++c) {
        double& s = nm.std[size_t(c)];
        if (!(s > 0.0) || !std::isfinite(s)) {
            if (notes)
                notes->push_back("ddpm: note: " + source + ": " + column_name(d.header, c) +
                                 " is constant (std 0); it is centred but not scaled (std 1)");
            s = 1.0;
        }
        check_float_room(nm, c, source, "");
    }
    return nm;
}

std::vector<float> standardise(const Normalisation& nm, const std::vector<float>& x) {
    const size_t dim = size_t(nm.columns());
    std::vector<float> z(x.size());
    for (size_t i = 0; i < x.size(); ++i) z[i] = float((double(x[i]) - nm.mean[i % dim]) / nm.std[i % dim]);
    return z;
}

std::vector<float> unstandardise(const Normalisation& nm, const std::vector<float>& z) {
    const size_t dim = size_t(nm.columns());
    std::vector<float> x(z.size());
    for (size_t i = 0; i < z.size(); ++i) x[i] = float(nm.mean[i % dim] + nm.std[i % dim] * double(z[i]));
    return x;
}

void put_normalisation(Checkpoint& ckpt, const Normalisation& nm) {
    ckpt.set_meta("data.columns", std::to_string(nm.columns()));
    ckpt.set_meta("data.mean", join_doubles(nm.mean));
    ckpt.set_meta("data.std", join_doubles(nm.std));
    if (!nm.header.empty()) {
        std::string names;
        for (size_t c = 0; c < nm.header.size(); ++c) names += (c ? "," : "") + nm.header[c];
        ckpt.set_meta("data.header", names);
    }
}

Normalisation get_normalisation(const Checkpoint& ckpt, const std::string& source) {
    for (const char* key : {"data.columns", "data.mean", "data.std"})
        if (!ckpt.has_meta(key))
            fail(source + ": no entry '" + key + "': not a checkpoint of the ddpm tool (a lesson's model?)");
    const std::string cols = ckpt.get_meta("data.columns");
    char* end = nullptr;
    const long columns = std::strtol(cols.c_str(), &end, 10);
    if (cols.empty() || *end != '\0' || columns < 1 || columns > kMaxColumns)
        fail(source + ": entry 'data.columns' is not a column count: '" + shown(cols) + "'");
    Normalisation nm;
    nm.mean = read_doubles(ckpt, "data.mean", int(columns), source);
    nm.std = read_doubles(ckpt, "data.std", int(columns), source);
    for (double s : nm.std)
        if (!(s > 0.0)) fail(source + ": entry 'data.std' holds a std that is not positive");
    if (ckpt.has_meta("data.header")) {
        nm.header = split_commas(ckpt.get_meta("data.header"));
        if (nm.header.size() != size_t(columns))
            fail(source + ": entry 'data.header' has " + std::to_string(nm.header.size()) + " names for " +
                 std::to_string(columns) + " columns");
        // What `ddpm sample` writes as line 1 must read back as these names (the rule of csv.h).
        const std::string problem = header_problem(nm.header, int(columns));
        if (!problem.empty()) fail(source + ": entry 'data.header': " + problem);
    }
    for (int c = 0; c < int(columns); ++c) check_float_room(nm, c, source, "the data it was trained on: ");
    return nm;
}

}  // namespace ddpm
