// test_tools.cpp: unit tests of lessontool's logic (student tree, table diff, grades).
//
// Marker lines appear here only inside string literals, never at the start of a line, so that
// making the student tree from this file leaves it unchanged.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "tools/grades.h"
#include "tools/studentize.h"
#include "tools/tabdiff.h"
#include "grading.h"

namespace fs = std::filesystem;
using namespace ddpm::tools;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------
namespace {

// A fresh directory under the system temp directory, deleted with everything in it at the end.
struct TempDir {
    fs::path path;
    TempDir() {
        static int counter = 0;
        auto ticks = std::chrono::steady_clock::now().time_since_epoch().count();
        path = fs::temp_directory_path() /
               ("ddpm_test_tools_" + std::to_string(ticks) + "_" + std::to_string(counter++));
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ignored;
        fs::remove_all(path, ignored);
    }
};

void write_file(const fs::path& path, const std::string& text) {
    fs::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary);
    out << text;
}

// Every task maps to lessons/01_forward, as if that were the only lesson.
std::string forward_lesson(const std::string&) { return "lessons/01_forward"; }

// The message find_regions throws for `text` in file "f.cpp", or "" when it accepts it.
std::string region_error(const std::string& text) {
    try {
        find_regions(text, "f.cpp");
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return "";
}

// The message `make` throws, or "" when it succeeds.
template <typename F>
std::string error_of(F make) {
    try {
        make();
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return "";
}

const std::string kBegin = "// BEGIN SOLUTION ";
const std::string kEnd = "// END SOLUTION";

}  // namespace

// ---------------------------------------------------------------------------------------------
// Regions of one file
// ---------------------------------------------------------------------------------------------
TEST_CASE("tools: task IDs are L, two digits, a dot and a number") {
    CHECK(is_task_id("L01.2"));
    CHECK(is_task_id("L11.10"));
    CHECK_FALSE(is_task_id("L1.2"));
    CHECK_FALSE(is_task_id("L01."));
    CHECK_FALSE(is_task_id("L01.2x"));
    CHECK_FALSE(is_task_id("l01.2"));
    CHECK_FALSE(is_task_id("L012"));
}

TEST_CASE("tools: region replacement keeps indentation and surrounding lines") {
    std::string text = "float add(float a, float b) {\n"
                       "    float unused = 0;\n"
                       "    " + kBegin + "L01.2\n"
                       "    return a + b;\n"
                       "    " + kEnd + "\n"
                       "}\n"
                       "\n"
                       "float mul(float a, float b) {\n"
                       "\t" + kBegin + "L01.3\n"
                       "\treturn a * b;\n"
                       "\t" + kEnd + " L01.3\n"
                       "}\n";
    std::vector<Region> regions = find_regions(text, "f.cpp");
    REQUIRE(regions.size() == 2);
    CHECK(regions[0].task_id == "L01.2");
    CHECK(regions[0].begin_line == 3);
    CHECK(regions[0].end_line == 5);
    CHECK(regions[0].indent == "    ");
    CHECK(regions[1].task_id == "L01.3");
    CHECK(regions[1].indent == "\t");

    std::string expected =
        "float add(float a, float b) {\n"
        "    float unused = 0;\n"
        "    " + kBegin + "L01.2\n"
        "    ddpm::not_implemented(\"L01.2\", \"lessons/01_forward/README.md\");\n"
        "    " + kEnd + "\n"
        "}\n"
        "\n"
        "float mul(float a, float b) {\n"
        "\t" + kBegin + "L01.3\n"
        "\tddpm::not_implemented(\"L01.3\", \"lessons/01_forward/README.md\");\n"
        "\t" + kEnd + " L01.3\n"
        "}\n";
    CHECK(studentize_text(text, "f.cpp", forward_lesson) == expected);
}

TEST_CASE("tools: a file without regions is copied byte for byte") {
    std::string text = "int x;\r\n  // a comment about the solution\r\n\n\tint y;";
    CHECK(find_regions(text, "f.cpp").empty());
    CHECK(studentize_text(text, "f.cpp", forward_lesson) == text);
}

TEST_CASE("tools: the stub takes the line ending of the opening marker, the markers stay as written") {
    std::string crlf = "a\r\n  " + kBegin + "L01.1\r\n  x;\r\n  " + kEnd + "\r\nb\r\n";
    CHECK(studentize_text(crlf, "f.cpp", forward_lesson) ==
          "a\r\n  " + kBegin + "L01.1\r\n  ddpm::not_implemented(\"L01.1\", \"lessons/01_forward/README.md\");\r\n  " +
              kEnd + "\r\nb\r\n");

    std::string no_final_newline = "a\n" + kBegin + "L01.1\nx;\n" + kEnd;
    CHECK(studentize_text(no_final_newline, "f.cpp", forward_lesson) ==
          "a\n" + kBegin + "L01.1\nddpm::not_implemented(\"L01.1\", \"lessons/01_forward/README.md\");\n" + kEnd);

    // The student tree's regions are regions again: the same tasks, the stub alone inside.
    std::string twice = studentize_text(crlf, "f.cpp", forward_lesson);
    REQUIRE(find_regions(twice, "f.cpp").size() == 1);
    CHECK(studentize_text(twice, "f.cpp", forward_lesson) == twice);
}

TEST_CASE("tools: malformed markers are reported with file and line") {
    SUBCASE("an opening without its end, at the opening line") {
        CHECK(region_error("a\n" + kBegin + "L01.2\nx\n") ==
              "f.cpp:2: BEGIN SOLUTION L01.2 has no END SOLUTION");
    }
    SUBCASE("an end without an opening") {
        CHECK(region_error("a\nb\n" + kEnd + "\n") ==
              "f.cpp:3: END SOLUTION without a BEGIN SOLUTION");
    }
    SUBCASE("a second end after a closed region") {
        CHECK(region_error(kBegin + "L01.2\n" + kEnd + "\n" + kEnd + "\n") ==
              "f.cpp:3: END SOLUTION without a BEGIN SOLUTION");
    }
    SUBCASE("nesting, at the inner opening") {
        std::string text = kBegin + "L01.2\nx\n" + kBegin + "L01.3\n" + kEnd + "\n" + kEnd + "\n";
        CHECK(region_error(text) ==
              "f.cpp:3: nested BEGIN SOLUTION L01.3: region L01.2 opened at line 1 has no "
              "END SOLUTION yet");
    }
    SUBCASE("a malformed ID") {
        CHECK(region_error("\n" + kBegin + "L1.2\n" + kEnd + "\n") ==
              "f.cpp:2: malformed task ID 'L1.2': expected L, two digits, '.', a number, "
              "like L01.2");
    }
    SUBCASE("no ID at all") {
        CHECK(region_error(kBegin + "\n" + kEnd + "\n").rfind("f.cpp:1: BEGIN SOLUTION without "
                                                              "a task ID", 0) == 0);
    }
    SUBCASE("text after the ID") {
        CHECK(region_error(kBegin + "L01.2 the forward step\n" + kEnd + "\n") ==
              "f.cpp:1: text after the task ID L01.2: 'the forward step' (put comments on the "
              "next line)");
    }
    SUBCASE("text after the end") {
        CHECK(region_error(kBegin + "L01.2\n" + kEnd + " done\n") ==
              "f.cpp:2: text after END SOLUTION: 'done'");
    }
    SUBCASE("an end naming another region") {
        CHECK(region_error(kBegin + "L01.2\n" + kEnd + " L01.3\n") ==
              "f.cpp:2: END SOLUTION L01.3 closes the region L01.2 opened at line 1");
    }
    SUBCASE("keywords in the wrong case are not silently ignored") {
        CHECK(region_error("x\n// Begin Solution L01.2\n" + kEnd + "\n").rfind(
                  "f.cpp:2: malformed marker 'Begin Solution L01.2'", 0) == 0);
    }
    SUBCASE("trailing spaces and a missing space after // are accepted") {
        CHECK(region_error("//BEGIN SOLUTION L01.2  \t\nx\n//END SOLUTION\r\n") == "");
    }
}

TEST_CASE("tools: an unknown lesson is reported at the line of its region") {
    auto no_lesson = [](const std::string& task_id) -> std::string {
        throw std::runtime_error("task " + task_id + ": there is no lesson directory");
    };
    std::string text = "a\nb\n" + kBegin + "L07.1\n" + kEnd + "\n";
    CHECK(error_of([&] { studentize_text(text, "g.h", no_lesson); }) ==
          "g.h:3: task L07.1: there is no lesson directory");
}

// ---------------------------------------------------------------------------------------------
// The whole tree
// ---------------------------------------------------------------------------------------------
namespace {

// A small reference tree: two lessons, a region in src/ and one in a lesson, and the
// directories that must stay behind.
void make_fake_root(const fs::path& root) {
    write_file(root / "lessons/00_core/README.md", "# core\n");
    write_file(root / "lessons/01_forward/README.md", "# forward\n");
    write_file(root / "lessons/01_forward/expected/moments.tsv", "t\tmean\n0\t1\n");
    write_file(root / "lessons/01_forward/forward.cpp",
               "int f() {\n  " + kBegin + "L01.2\n  return 1;\n  " + kEnd + "\n}\n");
    write_file(root / "src/add.h", "inline float add(float a, float b) {\n    " + kBegin +
                                       "L00.1\n    return a + b;\n    " + kEnd + "\n}\n");
    write_file(root / "src/notes.txt", "  " + kBegin + "L00.1\n");  // not a source file
    write_file(root / "src/.cache/junk", "x");
    write_file(root / "Makefile", "all:\n");
    write_file(root / "README.md", "# ddpm.cpp\n");
    write_file(root / "out/01_forward/moments.tsv", "x");
    write_file(root / ".git/HEAD", "x");
    write_file(root / "scratch.cpp", "not copied");
    write_file(root / "docs/notation.md", "# notation\n");
    write_file(root / "docs/instructors.md", "# for instructors\n");
    write_file(root / "docs/student/README.md", "# ddpm.cpp, your copy\n");
    write_file(root / ".ci/run", "make test\n");
    write_file(root / "tests/bench/bench.cpp", "int main() {}\n");
    write_file(root / "tests/bench/torch_twins.py", "alpha_bar = torch.cumprod(alpha, 0)\n");
    write_file(root / "src/torch/ddpm_torch/schedules.py", "alpha_bar = torch.cumprod(alpha, 0)\n");
    write_file(root / "src/torch/train.py", "loss.backward()\n");
    write_file(root / "tests/mutations.txt", "L01.2\tf.cpp\treturn 1;\treturn 2;\n");
}

}  // namespace

TEST_CASE("tools: the student tree replaces regions and copies only the course") {
    TempDir temp;
    fs::path root = temp.path / "ddpm";
    make_fake_root(root);
    fs::path dst = root / "build/student";

    StudentTree tree = make_student_tree(root, dst);
    CHECK(tree.regions == 2);
    CHECK(tree.files == 2);
    CHECK(tree.tasks == std::vector<std::string>{"L00.1", "L01.2"});
    CHECK(student_tree_summary(tree, "build/student") ==
          "student tree: build/student (2 regions in 2 files, tasks L00.1 L01.2)");

    CHECK(read_text_file(dst / "lessons/01_forward/forward.cpp") ==
          "int f() {\n  " + kBegin + "L01.2\n  ddpm::not_implemented(\"L01.2\", \"lessons/01_forward/README.md\");\n  " +
              kEnd + "\n}\n");
    CHECK(read_text_file(dst / "src/add.h") ==
          "inline float add(float a, float b) {\n    " + kBegin + "L00.1\n"
          "    ddpm::not_implemented(\"L00.1\", \"lessons/00_core/README.md\");\n    " + kEnd + "\n}\n");
    CHECK(read_text_file(dst / "src/notes.txt") == read_text_file(root / "src/notes.txt"));
    CHECK(fs::exists(dst / "lessons/01_forward/expected/moments.tsv"));
    CHECK(fs::exists(dst / "Makefile"));
    // The student's README replaces the instructor's; the instructors' notes stay behind.
    CHECK(read_text_file(dst / "README.md") == "# ddpm.cpp, your copy\n");
    CHECK(fs::exists(dst / "docs/notation.md"));
    CHECK_FALSE(fs::exists(dst / "docs/instructors.md"));
    CHECK_FALSE(fs::exists(dst / "docs/student"));
    CHECK(fs::exists(dst / "STUDENT_TREE"));
    CHECK(read_text_file(dst / "STUDENT_TREE").find("make test T=L01.1") != std::string::npos);
    CHECK(read_text_file(dst / "STUDENT_TREE").find("regenerate") == std::string::npos);
    CHECK_FALSE(fs::exists(dst / "out"));
    CHECK_FALSE(fs::exists(dst / "build"));
    CHECK_FALSE(fs::exists(dst / ".git"));
    CHECK_FALSE(fs::exists(dst / "src/.cache"));
    CHECK_FALSE(fs::exists(dst / "scratch.cpp"));
    // what holds answers stays behind: the PyTorch twins, the mutations of make check-tasks, the CI
    CHECK(fs::exists(dst / "tests/bench/bench.cpp"));
    CHECK_FALSE(fs::exists(dst / "tests/bench/torch_twins.py"));
    CHECK_FALSE(fs::exists(dst / "src/torch"));
    CHECK_FALSE(fs::exists(dst / "tests/mutations.txt"));
    CHECK_FALSE(fs::exists(dst / ".ci"));
    CHECK(read_text_file(dst / ".gitignore") == "/build/\n/out/\n/data/mnist/\n*.tmp\n");

    // Making it again replaces the previous student tree.
    write_file(dst / "lessons/01_forward/forward.cpp", "edited by hand");
    make_student_tree(root, dst);
    CHECK(read_text_file(dst / "lessons/01_forward/forward.cpp").find("not_implemented") !=
          std::string::npos);
}

TEST_CASE("tools: the student tree refuses dangerous destinations") {
    TempDir temp;
    fs::path root = temp.path / "ddpm";
    make_fake_root(root);

    CHECK(error_of([&] { make_student_tree(root, root); }).find("is the source root") !=
          std::string::npos);
    CHECK(error_of([&] { make_student_tree(root, temp.path); }).find("contains the source root") !=
          std::string::npos);
    CHECK(error_of([&] { make_student_tree(root, root / "lessons/student"); })
              .find("lies inside lessons/") != std::string::npos);

    // A directory with real work in it, not made by make_student_tree, is never deleted.
    fs::path precious = temp.path / "precious";
    write_file(precious / "thesis.tex", "years of work");
    CHECK(error_of([&] { make_student_tree(root, precious); }).find("refusing to delete it") !=
          std::string::npos);
    CHECK(fs::exists(precious / "thesis.tex"));

    // A student tree is never the source of another: its stubs would become the reference.
    fs::path student = temp.path / "student";
    make_student_tree(root, student);
    CHECK(error_of([&] { make_student_tree(student, temp.path / "again"); }).find("this is a student tree") !=
          std::string::npos);
    CHECK_FALSE(fs::exists(temp.path / "again"));
}

TEST_CASE("tools: an error leaves no half-written student tree") {
    TempDir temp;
    fs::path root = temp.path / "ddpm";
    make_fake_root(root);
    fs::path dst = temp.path / "student";

    SUBCASE("a malformed marker") {
        write_file(root / "src/zz_broken.cpp", "int x;\n" + kBegin + "L00.1\n");
        CHECK(error_of([&] { make_student_tree(root, dst); }) ==
              (root / "src/zz_broken.cpp").lexically_normal().string() +
                  ":2: BEGIN SOLUTION L00.1 has no END SOLUTION");
    }
    SUBCASE("two lesson directories for one task") {
        fs::create_directories(root / "lessons/01_other");
        CHECK(error_of([&] { make_student_tree(root, dst); }).find(
                  "forward.cpp:2: task L01.2: several lesson directories match lessons/01_*") !=
              std::string::npos);
    }
    SUBCASE("a task without a lesson directory") {
        fs::remove_all(root / "lessons/00_core");
        CHECK(error_of([&] { make_student_tree(root, dst); }).find(
                  "add.h:2: task L00.1: there is no lesson directory lessons/00_*") !=
              std::string::npos);
    }
    CHECK_FALSE(fs::exists(dst));
    CHECK_FALSE(fs::exists(temp.path / "student.partial"));
}

// ---------------------------------------------------------------------------------------------
// Table diff
// ---------------------------------------------------------------------------------------------
TEST_CASE("tools: numbers parse completely or not at all") {
    double x = 0;
    CHECK(parse_number("1.5", &x));
    CHECK(x == 1.5);
    CHECK(parse_number("-2e-3", &x));
    CHECK(parse_number("nan", &x));
    CHECK(parse_number("-inf", &x));
    CHECK_FALSE(parse_number("", &x));
    CHECK_FALSE(parse_number("1.5x", &x));
    CHECK_FALSE(parse_number(" 1.5", &x));
    CHECK_FALSE(parse_number("linear", &x));
}

TEST_CASE("tools: numbers are close within atol + rtol * max(|a|, |b|)") {
    CHECK(numbers_close(1.0, 1.00005, 1e-4, 0));
    CHECK_FALSE(numbers_close(1.0, 1.0002, 1e-4, 0));
    CHECK(numbers_close(0.0, 5e-7, 1e-4, 1e-6));
    CHECK_FALSE(numbers_close(0.0, 2e-6, 1e-4, 1e-6));
    CHECK(numbers_close(NAN, NAN, 1e-4, 1e-6));
    CHECK_FALSE(numbers_close(NAN, 1.0, 1e-4, 1e-6));
    CHECK(numbers_close(INFINITY, INFINITY, 1e-4, 1e-6));
    CHECK_FALSE(numbers_close(INFINITY, -INFINITY, 1e-4, 1e-6));
}

TEST_CASE("tools: tables within tolerance match") {
    DiffOptions options;
    std::string expected = "t\tmean\tname\n0\t0.5\tlinear\n200\tnan\tcosine\n";
    std::string got = "t\tmean\tname\r\n0\t0.500001\tlinear\r\n200\tnan\tcosine";
    CHECK(diff_tsv_text(expected, got, "m.tsv", options).empty());
}

TEST_CASE("tools: differences name the line, the column and its header") {
    DiffOptions options;
    std::string expected = "t\tmean\tname\n0\t0.5\tlinear\n200\t0.25\tcosine\n";
    std::string got = "t\tmean\tname\n0\t0.5\tlinear\n200\t0.26\tCosine\n";
    std::vector<std::string> reports = diff_tsv_text(expected, got, "m.tsv", options);
    REQUIRE(reports.size() == 2);
    CHECK(reports[0].rfind("m.tsv:3: column 2 (mean): expected 0.25, got 0.26", 0) == 0);
    CHECK(reports[1] == "m.tsv:3: column 3 (name): expected cosine, got Cosine");

    // Looser tolerances accept the number but never the text.
    options.rtol = 0.1;
    reports = diff_tsv_text(expected, got, "m.tsv", options);
    REQUIRE(reports.size() == 1);
    CHECK(reports[0] == "m.tsv:3: column 3 (name): expected cosine, got Cosine");
}

TEST_CASE("tools: a first line of numbers is not a header") {
    std::vector<std::string> reports = diff_tsv_text("1\t2\n3\t4\n", "1\t2\n3\t5\n", "n.tsv", {});
    REQUIRE(reports.size() == 1);
    CHECK(reports[0].rfind("n.tsv:2: column 2: expected 4, got 5", 0) == 0);
}

TEST_CASE("tools: line and field count mismatches are reported") {
    std::vector<std::string> reports =
        diff_tsv_text("a\tb\n1\t2\n3\t4\n", "a\tb\n1\t2\t9\n", "c.tsv", {});
    REQUIRE(reports.size() == 2);
    CHECK(reports[0] == "c.tsv: expected 3 lines, got 2");
    CHECK(reports[1] == "c.tsv:2: expected 2 fields, got 3");
}

TEST_CASE("tools: only the first differences of a file are listed") {
    std::string expected, got;
    for (int i = 0; i < 30; i++) {
        expected += std::to_string(i) + "\n";
        got += std::to_string(i + 100) + "\n";
    }
    DiffOptions options;
    options.max_reports_per_file = 20;
    std::vector<std::string> reports = diff_tsv_text(expected, got, "l.tsv", options);
    REQUIRE(reports.size() == 21);
    CHECK(reports[20] == "l.tsv: 10 more differences not shown");
}

TEST_CASE("tools: directory diff finds missing and differing files") {
    TempDir temp;
    fs::path expected = temp.path / "expected", out = temp.path / "out";
    write_file(expected / "same.tsv", "a\n1\n");
    write_file(expected / "sub/changed.tsv", "a\n1\n");
    write_file(expected / "gone.tsv", "a\n1\n");
    write_file(expected / "notes.txt", "not a table");
    write_file(out / "same.tsv", "a\n1\n");
    write_file(out / "sub/changed.tsv", "a\n2\n");
    write_file(out / "extra.tsv", "outputs that are not expected are ignored");

    DirDiff diff = diff_dirs(out, expected, {});
    CHECK(diff.files_compared == 3);
    CHECK(diff.files_differing == 2);
    REQUIRE(diff.reports.size() == 2);
    CHECK(diff.reports[0] ==
          (out / "gone.tsv").string() + ": missing (the lesson did not write it)");
    CHECK(diff.reports[1].rfind((out / "sub/changed.tsv").string() + ":2: column 1 (a)", 0) == 0);

    write_file(out / "gone.tsv", "a\n1.0000001\n");
    write_file(out / "sub/changed.tsv", "a\n1\n");
    diff = diff_dirs(out, expected, {});
    CHECK(diff.files_differing == 0);
    CHECK(diff.reports.empty());
}

TEST_CASE("tools: an expected directory without tables is an error") {
    TempDir temp;
    write_file(temp.path / "expected/readme.txt", "x");
    CHECK(error_of([&] { diff_dirs(temp.path / "out", temp.path / "expected", {}); })
              .find("no .tsv files") != std::string::npos);
    CHECK(error_of([&] { diff_dirs(temp.path / "out", temp.path / "nothing", {}); })
              .find("not a directory") != std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Grades
// ---------------------------------------------------------------------------------------------
namespace {

const std::string kGradesHeader = "task\tpoints\ttests\tpassed\ttitle\n";

std::string grades_error(const std::string& text) {
    return error_of([&] { parse_grades(text, "g.tsv"); });
}

}  // namespace

TEST_CASE("tools: grades rows are parsed") {
    std::vector<GradeRow> rows =
        parse_grades(kGradesHeader + "L00.1\t2\t3\t3\tadd\nL01.2\t0.5\t4\t1\tq_sample\n", "g.tsv");
    REQUIRE(rows.size() == 2);
    CHECK(rows[1].line == 3);
    CHECK(rows[1].task == "L01.2");
    CHECK(rows[1].points == "0.5");
    CHECK(rows[1].tests == 4);
    CHECK(rows[1].passed == 1);
    CHECK(rows[1].title == "q_sample");
}

TEST_CASE("tools: expect pass wants every test of every task to pass") {
    GradeRow all_pass{2, "L00.1", "1", 3, 3, "", "", ""};
    GradeRow some_fail{3, "L00.2", "1", 3, 2, "", "", ""};
    GradeRow no_tests{4, "L00.3", "1", 0, 0, "", "", ""};
    CHECK(grade_problem(all_pass, Expect::pass).empty());
    CHECK(grade_problem(some_fail, Expect::pass) == "1 of 3 tests fail");
    CHECK(grade_problem(no_tests, Expect::pass) == "no test ran for this task");
    CHECK(count_problems({all_pass, some_fail, no_tests}, Expect::pass) == 2);
    CHECK(count_problems({all_pass}, Expect::pass) == 0);
}

TEST_CASE("tools: expect fail wants every task to fail without its solution") {
    GradeRow all_pass{2, "L00.1", "1", 3, 3, "", "", ""};
    GradeRow some_fail{3, "L00.2", "1", 3, 2, "", "", ""};
    GradeRow all_fail{4, "L00.3", "1", 3, 0, "", "", ""};
    GradeRow no_tests{5, "L00.4", "1", 0, 0, "", "", ""};
    CHECK(grade_problem(all_pass, Expect::fail) == "all 3 tests pass without the solution");
    CHECK(grade_problem(some_fail, Expect::fail).empty());
    CHECK(grade_problem(all_fail, Expect::fail).empty());
    CHECK_FALSE(grade_problem(no_tests, Expect::fail).empty());

    std::string table = grades_table({all_pass, all_fail}, Expect::fail);
    CHECK(table.find("PROBLEM: all 3 tests pass") != std::string::npos);
    CHECK(table.find("grades: 2 tasks, 1 with a PROBLEM") != std::string::npos);
}

TEST_CASE("tools: malformed grades files name the line") {
    CHECK(grades_error("") == "g.tsv: empty, expected a header line");
    CHECK(grades_error("task\tpoints\n").rfind("g.tsv:1: header must be", 0) == 0);
    CHECK(grades_error(kGradesHeader) == "g.tsv: no tasks listed after the header");
    CHECK(grades_error(kGradesHeader + "L00.1\t1\t3\t3\n").rfind("g.tsv:2: expected 5", 0) == 0);
    CHECK(grades_error(kGradesHeader + "L0.1\t1\t3\t3\tx\n") ==
          "g.tsv:2: task 'L0.1' is not an ID like L01.2");
    CHECK(grades_error(kGradesHeader + "L00.1\t1\tthree\t3\tx\n") ==
          "g.tsv:2: tests 'three' is not a count");
    CHECK(grades_error(kGradesHeader + "L00.1\t1\t3\t3\tx\nL00.2\t1\t3\t4\tx\n") ==
          "g.tsv:3: passed (4) is more than tests (3)");
    CHECK(grades_error(kGradesHeader + "L00.1\t1\t3\t3\tx\nL00.1\t1\t3\t3\tx\n") ==
          "g.tsv:3: task L00.1 is listed twice (first at line 2)");
}

TEST_CASE("tools: grades files with the blocked_by column, and the table names the blocking task") {
    const std::string header = "task\tpoints\ttests\tpassed\ttitle\tblocked_by\n";
    std::vector<GradeRow> rows = parse_grades(
        header + "L01.1\t2\t3\t0\tschedule\t-\nL03.1\t3\t2\t0\tloss\tL01.1\nL04.1\t3\t2\t1\tmean\tL01.1,L01.3\n",
        "g.tsv");
    REQUIRE(rows.size() == 3);
    CHECK(rows[0].blocked_by.empty());
    CHECK(rows[1].blocked_by == "L01.1");
    CHECK(rows[2].blocked_by == "L01.1,L01.3");
    const std::string table = grades_table(rows, Expect::fail);
    CHECK(table.find("L03.1         3      2       0  OK (blocked by L01.1)") != std::string::npos);
    CHECK(table.find("OK (blocked by L01.1,L01.3)") != std::string::npos);
    CHECK(grades_error(header + "L01.1\t2\t3\t0\tschedule\n").rfind("g.tsv:2: expected 6", 0) == 0);
    CHECK(grades_error(header + "L01.1\t2\t3\t0\tschedule\tL1.1\n") ==
          "g.tsv:2: blocked_by 'L1.1' is not '-' or IDs like L01.1,L01.3");
}

TEST_CASE("tools: grades files with the earned points and a total row") {
    const std::string header = "task\tpoints\tearned\ttests\tpassed\ttitle\tblocked_by\n";
    std::vector<GradeRow> rows = parse_grades(
        header + "L01.1\t2\t2\t3\t3\tschedule\t-\nL03.1\t3\t0\t2\t0\tloss\tL01.1\ntotal\t5\t2\t5\t3\t-\t-\n",
        "g.tsv");
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].earned == "2");
    CHECK(rows[1].earned == "0");
    CHECK(rows[1].tests == 2);
    CHECK(rows[1].title == "loss");
    CHECK(rows[1].blocked_by == "L01.1");
    CHECK(grades_error(header + "L01.1\t2\t3\t3\t3\tschedule\t-\n") ==
          "g.tsv:2: earned '3' is not a number from 0 to the points");
    // "total" anywhere but last is not a task
    CHECK(grades_error(header + "total\t5\t2\t5\t3\t-\t-\nL01.1\t2\t2\t3\t3\tschedule\t-\n") ==
          "g.tsv:2: task 'total' is not an ID like L01.2");
}

// ---------------------------------------------------------------------------------------------
// The grade table of the test binary (tests/grading.h): "blocked by"
// ---------------------------------------------------------------------------------------------
TEST_CASE("tools: the grade table says 'blocked by L01.1' where a check fails in another task's stub") {
    using grading::CaseResult;
    CHECK(grading::stub_of("not implemented: L01.1 (see lessons/01_forward/README.md)") == "L01.1");
    CHECK(grading::stub_of("L03.1: not implemented: L11.10 (see x)") == "L11.10");
    CHECK(grading::stub_of("not implemented: soon") == "");
    CHECK(grading::stub_of("eq. (4.3) disagrees") == "");

    const std::vector<GradedTask> tasks = {{"L01.1", 2, "schedule"}, {"L03.1", 3, "loss"}, {"L04.1", 3, "mean"},
                                           {"L04.2", 2, "step"}, {"L07.1", 3, "ddim"}};
    std::map<std::string, CaseResult> cases;
    auto failed = [](std::set<std::string> stubs, bool other = false) {
        CaseResult r;
        r.runs = 1;
        r.passed = false;
        r.stubs = std::move(stubs);
        r.other_failure = other;
        return r;
    };
    CaseResult pass;
    pass.runs = 1;
    cases["L01.1 alpha_bar by hand"] = failed({"L01.1"});             // its own stub: not blocked
    cases["L03.1 the loss by hand"] = failed({"L01.1"});              // only L01.1's stub
    cases["L03.1 the loss is deterministic"] = failed({"L01.1"});
    cases["L04.1 by hand"] = failed({"L04.1"});                       // its own stub ...
    cases["L04.1 against the posterior"] = failed({"L01.1"});         // ... and L01.1's
    cases["L04.2 sigma z"] = failed({}, true);                        // a wrong value: its own failure
    cases["L07.1 eta = 1 is DDPM"] = pass;
    cases["L09.1 a task nobody listed"] = pass;
    cases["sampler: not graded"] = failed({"L01.1"});

    std::vector<std::string> unknown;
    const std::vector<grading::TaskGrade> g = grading::grade(cases, tasks, &unknown);
    REQUIRE(g.size() == 5);
    CHECK(unknown == std::vector<std::string>{"L09.1 a task nobody listed"});
    CHECK(grading::note_of(g[0]) == "");
    CHECK(g[1].tests == 2);
    CHECK(g[1].passed == 0);
    CHECK(grading::note_of(g[1]) == "blocked by L01.1");
    CHECK(grading::blocked_field(g[1]) == "L01.1");
    CHECK(grading::note_of(g[2]) == "also blocked by L01.1");
    CHECK(grading::note_of(g[3]) == "");
    CHECK(grading::blocked_field(g[3]) == "-");
    CHECK(g[4].full());
    CHECK(grading::note_of(g[4]) == "");
}
