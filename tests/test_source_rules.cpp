// test_source_rules.cpp: the house rules of src/ (src/README.md), checked on the source files themselves.
//
//   1. A folder includes only from itself and the folders below it (the table kAllowed), always by
//      its folder-qualified path ("core/tensor.h", never "tensor.h").
//   2. The reference path (everything outside src/fast/) is plain C++: no pragmas, vector types,
//      intrinsics, __restrict or allocator tuning. Those belong to src/fast/.
//   3. A graded region (BEGIN SOLUTION ... END SOLUTION) holds none of them either, wherever it is.
//   4. No C library exp, log, sin, cos, pow, tanh or erf outside core/dmath.cpp (which tests them
//      against it) and plot/plot.cpp (which only draws): they differ between systems in their
//      last bits (docs/reproducibility.md).
//   5. In the kernels (core/kernels.cpp, core/image_kernels.cpp, core/approx.h and src/fast/), a product
//      added into a sum is one fused multiply-add, madd (core/madd.h) or the tiles' FMA: no
//      `s += a * b` (docs/reproducibility.md, rule 1).
//   6. The fast path is chosen in one place: the dispatch headers (core/dispatch.h, nets/dispatch.h)
//      are included by the two dispatch units and src/fast/ alone, so no kernel, network or lesson a
//      student reads looks at the fast table.
// The tests run from the top of the tree (make test), where src/ and lessons/ are.
#include <doctest/doctest.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tasks.h"

namespace fs = std::filesystem;

namespace {

// Which folders a file in each folder may include from. lessons/ is the top: it may use the lesson
// kit and everything below it, never the tool (app) or the instructor tools.
const std::map<std::string, std::set<std::string>> kAllowed = {
    {"core", {"core"}},
    {"nets", {"core", "nets"}},
    {"diffusion", {"core", "nets", "diffusion"}},
    {"store", {"core", "nets", "diffusion", "store"}},
    {"plot", {"core", "plot"}},
    {"lessonkit", {"core", "nets", "diffusion", "store", "plot", "lessonkit"}},
    {"fast", {"core", "nets", "diffusion", "fast"}},
    {"app", {"core", "nets", "diffusion", "store", "app"}},
    {"tools", {"core", "tools"}},
    {"lessons", {"core", "nets", "diffusion", "store", "plot", "lessonkit"}},
    {"shipped", {"core", "nets", "diffusion", "store", "plot", "lessonkit"}},
};

// What the reference path and graded regions must not contain.
const std::vector<std::string> kFastOnly = {"#pragma GCC", "#pragma omp", "vector_size", "__restrict",
                                            "immintrin", "_mm_", "_mm256", "_mm512", "mallopt"};

struct SourceFile {
    std::string path;    // as printed: src/core/tensor.cpp
    std::string folder;  // core
    std::vector<std::string> lines;
};

std::vector<SourceFile> source_files() {
    std::vector<SourceFile> files;
    auto add_tree = [&](const fs::path& root, bool folder_is_root) {
        if (!fs::exists(root)) return;
        for (const auto& entry : fs::recursive_directory_iterator(root)) {
            const std::string ext = entry.path().extension().string();
            if (!entry.is_regular_file() || (ext != ".h" && ext != ".cpp")) continue;
            SourceFile f;
            f.path = entry.path().generic_string();
            f.folder = folder_is_root ? root.filename().string()
                                      : entry.path().lexically_relative(root).begin()->string();
            std::ifstream in(entry.path());
            for (std::string line; std::getline(in, line);) f.lines.push_back(line);
            files.push_back(f);
        }
    };
    add_tree("src", false);
    add_tree("lessons", true);
    return files;
}

// Whether `line` calls `name` (not as the tail of a longer name: isinf( is not sinf().
bool calls(const std::string& line, const std::string& name) {
    for (size_t at = line.find(name); at != std::string::npos; at = line.find(name, at + 1)) {
        const char before = at == 0 ? ' ' : line[at - 1];
        if (!(std::isalnum((unsigned char)before) || before == '_' || before == ':')) return true;
    }
    return false;
}

// The folder of `#include "folder/file.h"`, or "" for a line that includes nothing in quotes.
std::string included_folder(const std::string& line, std::string* target) {
    const size_t hash = line.find_first_not_of(" \t");
    if (hash == std::string::npos || line.compare(hash, 8, "#include") != 0) return "";
    const size_t open = line.find('"');
    if (open == std::string::npos) return "";  // <system header>
    const size_t close = line.find('"', open + 1);
    *target = line.substr(open + 1, close - open - 1);
    const size_t slash = target->find('/');
    return slash == std::string::npos ? std::string("(none)") : target->substr(0, slash);
}

// Whether `line` adds a product into a sum with a separate multiply and add, as far as a line can
// tell: `x += a * b` or `x -= a * b` with the product outside brackets (an index such as
// x[i * n + j] is not a product of values), or `acc = acc + a * b`. A for statement's header and
// what follows // are left out.
bool unfused_product(std::string line) {
    const size_t comment = line.find("//");
    if (comment != std::string::npos) line.erase(comment);
    for (size_t at = line.find("for ("); at != std::string::npos; at = line.find("for (")) {
        int depth = 0;
        size_t end = at + 4;
        for (; end < line.size(); ++end) {
            if (line[end] == '(') ++depth;
            if (line[end] == ')' && --depth == 0) break;
        }
        line.erase(at, end + 1 - at);
    }
    auto outside_brackets = [](const std::string& text) {
        std::string out;
        int depth = 0;
        for (char ch : text) {
            if (ch == '[') ++depth;
            if (depth == 0) out += ch;
            if (ch == ']') --depth;
        }
        return out;
    };
    for (const char* op : {"+=", "-="}) {
        const size_t at = line.find(op);
        if (at == std::string::npos) continue;
        const std::string rhs = outside_brackets(line.substr(at + 2, line.find(';', at) - at - 2));
        if (rhs.find('*') != std::string::npos) return true;
    }
    const size_t eq = line.find(" = ");
    if (eq != std::string::npos) {
        size_t start = line.find_first_not_of(" \t");
        const std::string lhs = line.substr(start, eq - start);
        const std::string rhs = outside_brackets(line.substr(eq + 3));
        if (!lhs.empty() && rhs.compare(0, lhs.size() + 3, lhs + " + ") == 0 && rhs.find('*') != std::string::npos)
            return true;
    }
    return false;
}

bool is_kernel_file(const std::string& path) {
    return path == "src/core/kernels.cpp" || path == "src/core/image_kernels.cpp" || path == "src/core/approx.h" ||
           path.rfind("src/fast/", 0) == 0;
}

}  // namespace

TEST_CASE("source rules: every include of src/ and lessons/ goes down the layers, by its folder-qualified path") {
    const std::vector<SourceFile> files = source_files();
    REQUIRE(files.size() > 40);  // run from the top of the tree
    int includes = 0;
    for (const SourceFile& f : files) {
        const auto allowed = kAllowed.find(f.folder);
        if (f.path == "src/README.md") continue;
        INFO(f.path);
        REQUIRE_MESSAGE(allowed != kAllowed.end(), "a folder the layer table does not know: " << f.folder);
        for (size_t i = 0; i < f.lines.size(); ++i) {
            std::string target;
            const std::string folder = included_folder(f.lines[i], &target);
            if (folder.empty()) continue;
            ++includes;
            INFO(f.path << ":" << i + 1 << ": #include \"" << target << "\"");
            CHECK(allowed->second.count(folder) == 1);
        }
    }
    CHECK(includes > 100);
}

TEST_CASE("source rules: the reference path and every graded region are plain loops (no pragmas, vector types, intrinsics)") {
    int graded_lines = 0;
    for (const SourceFile& f : source_files()) {
        bool in_solution = false;
        for (size_t i = 0; i < f.lines.size(); ++i) {
            const std::string& line = f.lines[i];
            if (line.find("BEGIN SOLUTION") != std::string::npos) in_solution = true;
            if (line.find("END SOLUTION") != std::string::npos) in_solution = false;
            graded_lines += in_solution;
            if (f.folder == "fast" && !in_solution) continue;
            for (const std::string& word : kFastOnly) {
                INFO(f.path << ":" << i + 1 << ": " << line);
                CHECK(line.find(word) == std::string::npos);
            }
        }
    }
    CHECK(graded_lines > 50);
}

TEST_CASE("source rules: no C library transcendental on a path that reaches a table or a checkpoint") {
    const std::vector<std::string> libm = {"std::exp(", "std::log(", "std::sin(", "std::cos(", "std::pow(",
                                           "std::tanh(", "std::erf(", "std::exp2(", "std::log1p(", "expf(",
                                           "logf(", "sinf(", "cosf(", "powf("};
    int files = 0;
    for (const SourceFile& f : source_files()) {
        if (f.path == "src/core/dmath.cpp" || f.path == "src/plot/plot.cpp") continue;
        ++files;
        for (size_t i = 0; i < f.lines.size(); ++i)
            for (const std::string& call : libm) {
                INFO(f.path << ":" << i + 1 << ": " << f.lines[i]);
                CHECK_FALSE(calls(f.lines[i], call));
            }
    }
    CHECK(files > 40);
}

TEST_CASE("source rules: every product a kernel adds into a sum is a fused multiply-add") {
    int files = 0;
    for (const SourceFile& f : source_files()) {
        if (!is_kernel_file(f.path)) continue;
        ++files;
        for (size_t i = 0; i < f.lines.size(); ++i) {
            INFO(f.path << ":" << i + 1 << ": " << f.lines[i]);
            CHECK_FALSE(unfused_product(f.lines[i]));
        }
    }
    CHECK(files >= 8);
}

TEST_CASE("source rules: the fast path is chosen in the dispatch units alone") {
    const std::set<std::string> dispatch_headers = {"core/dispatch.h", "nets/dispatch.h"};
    const std::set<std::string> may_include = {"src/core/dispatch.cpp", "src/core/dispatch.h", "src/nets/dispatch.cpp",
                                               "src/nets/dispatch.h"};
    int seen = 0;
    for (const SourceFile& f : source_files())
        for (size_t i = 0; i < f.lines.size(); ++i) {
            std::string target;
            if (included_folder(f.lines[i], &target).empty() || dispatch_headers.count(target) == 0) continue;
            ++seen;
            INFO(f.path << ":" << i + 1 << ": #include \"" << target << "\"");
            CHECK((f.folder == "fast" || may_include.count(f.path) == 1));
        }
    CHECK(seen >= 6);  // the two dispatch units and src/fast/'s files
}

TEST_CASE("source rules: every graded task's checks are in the test file its row of tests/tasks.h names") {
    // the graded checks of each task, by the file they are in: a case named "L09.1 ..."
    std::map<std::string, std::set<std::string>> files_of;
    int test_files = 0;
    for (const auto& entry : fs::directory_iterator("tests")) {
        const std::string name = entry.path().filename().string();
        if (!entry.is_regular_file() || name.rfind("test_", 0) != 0 || entry.path().extension() != ".cpp") continue;
        ++test_files;
        std::ifstream in(entry.path());
        const std::string marker = "TEST_CASE(\"L";
        for (std::string line; std::getline(in, line);)
            for (size_t at = line.find(marker); at != std::string::npos; at = line.find(marker, at + 1))
                if (line.size() >= at + marker.size() + 4)
                    files_of[line.substr(at + marker.size() - 1, 5)].insert("tests/" + name);
    }
    CHECK(test_files > 30);
    for (const GradedTask& t : graded_tasks()) {
        INFO(t.id << " (tests/tasks.h names " << t.tests << ")");
        CHECK(files_of[t.id] == std::set<std::string>{t.tests});
    }
    CHECK(files_of.size() == graded_tasks().size());  // no graded check of a task that tasks.h lacks
}

TEST_CASE("source rules: each task's \"needs first\" in tests/tasks.h is the column of docs/student/README.md") {
    // the student's table: | L01.3 the closed form ... | `src/...` | L01.1, L01.2 |
    std::map<std::string, std::string> column;
    std::ifstream in("docs/student/README.md");
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("| L", 0) != 0) continue;
        const size_t last = line.rfind('|'), before = line.rfind('|', last - 1);
        REQUIRE(before != std::string::npos);
        std::string needs = line.substr(before + 1, last - before - 1), words;
        for (char c : needs)
            if (c != ' ') words += c == ',' ? ' ' : c;
        column[line.substr(2, 5)] = words == "-" ? "" : words;
    }
    REQUIRE(column.size() == graded_tasks().size());
    for (const GradedTask& t : graded_tasks()) {
        INFO(t.id);
        CHECK(column[t.id] == t.needs);
        // and each task it needs comes before it, so that the grader has scored it first
        std::istringstream ids(t.needs);
        for (std::string id; ids >> id;) CHECK(id < std::string(t.id));
    }
}

TEST_CASE("source rules: GitHub Classroom's workflow has one step per task of tests/tasks.h, worth its points") {
    // docs/student/classroom.yml in the reference tree; .github/workflows/classroom.yml in a student tree
    std::ifstream in(std::ifstream("docs/student/classroom.yml").good() ? "docs/student/classroom.yml"
                                                                        : ".github/workflows/classroom.yml");
    REQUIRE(in.good());
    std::map<std::string, int> points;  // task -> max-score of the step whose command runs it
    std::string task;
    std::vector<std::string> runners;
    for (std::string line; std::getline(in, line);) {
        const size_t command = line.find("command: make test T=");
        if (command != std::string::npos) task = line.substr(command + 21);
        const size_t score = line.find("max-score: ");
        if (score != std::string::npos && !task.empty()) {
            points[task] = std::stoi(line.substr(score + 11));
            task.clear();
        }
        const size_t listed = line.find("runners: ");
        if (listed != std::string::npos) {
            std::istringstream ids(line.substr(listed + 9));
            for (std::string id; std::getline(ids, id, ',');) runners.push_back(id);
        }
    }
    CHECK(points.size() == graded_tasks().size());
    CHECK(runners.size() == graded_tasks().size());
    for (size_t i = 0; i < graded_tasks().size() && i < runners.size(); ++i) {
        const GradedTask& t = graded_tasks()[i];
        INFO(t.id);
        CHECK(points[t.id] == t.points);
        std::string id = t.id;  // the step's id: "L03.2" -> "l03-2"
        id[0] = 'l';
        id[3] = '-';
        CHECK(runners[i] == id);
    }
}

TEST_CASE("source rules: the rule itself fails on a wrong include") {
    std::string target;
    CHECK(included_folder("#include \"core/tensor.h\"", &target) == "core");
    CHECK(target == "core/tensor.h");
    CHECK(included_folder("  #include \"tensor.h\"  // old style", &target) == "(none)");
    CHECK(included_folder("#include <vector>", &target).empty());
    CHECK(kAllowed.at("core").count("diffusion") == 0);
    CHECK(kAllowed.at("diffusion").count("lessonkit") == 0);
    CHECK(kAllowed.at("plot").count("diffusion") == 0);  // the plotting library knows no diffusion
    CHECK(kAllowed.at("lessons").count("app") == 0);
    CHECK(calls("  y = std::exp(x);", "std::exp("));
    CHECK(calls("y = sinf(x);", "sinf("));
    CHECK_FALSE(calls("if (std::isinf(x))", "sinf("));
    CHECK_FALSE(calls("y = dmath::exp(x);", "exp("));
    CHECK(unfused_product("                for (int n = 0; n < N; ++n) c[n] += a[k] * b[n];"));
    CHECK(unfused_product("        acc -= w[(ic * K + kh) * K + kw] * value;  // a term"));
    CHECK(unfused_product("    acc = acc + x[i] * y[i];"));
    CHECK_FALSE(unfused_product("                for (int n = 0; n < N; ++n) c[n] = madd(a[k], b[n], c[n]);"));
    CHECK_FALSE(unfused_product("    for (int64_t p = 0; p < P; ++p) s += dout[(int64_t(b) * OC + o) * P + p];"));
    CHECK_FALSE(unfused_product("    for (; n + 2 * kLanes <= N; n += 2 * kLanes) tile<R, 2>(o, m0, n);"));
    CHECK_FALSE(unfused_product("    total += x;  // a * b would be wrong here"));
}
