// test_grader.cpp: the grader's pieces that need no build (tools/splice.h, tools/grader.h): which
// lines of a submission are taken, which edits are reported, and what Gradescope and the class
// CSV get. The whole grader, building and running submissions, is tested by make check-grader.
//
// Marker lines appear here only inside string literals, never at the start of a line, so that
// making the student tree from this file leaves it unchanged.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>

#include "tools/grader.h"
#include "tools/splice.h"
#include "tools/studentize.h"
#include "tools/tabdiff.h"  // read_text_file

using namespace ddpm::tools;

namespace {

const std::string kBegin = "// BEGIN SOLUTION ";
const std::string kEnd = "// END SOLUTION";

// A published file: two tasks, L01.2 with two regions, and lines around them.
std::string published() {
    return "#include <x>\n"
           "float f() {\n"
           "    " + kBegin + "L01.2\n"
           "    stub(\"L01.2\");\n"
           "    " + kEnd + "\n"
           "}\n"
           "float g() {\n"
           "    " + kBegin + "L01.3\n"
           "    stub(\"L01.3\");\n"
           "    " + kEnd + "\n"
           "    " + kBegin + "L01.2\n"
           "    stub(\"L01.2\");\n"
           "    " + kEnd + "\n"
           "}\n";
}

// The same file as a student answered it: L01.2's first region grew to two lines.
std::string answered() {
    return "#include <x>\n"
           "float f() {\n"
           "    " + kBegin + "L01.2\n"
           "    float a = 1;\n"
           "    return a;\n"
           "    " + kEnd + "\n"
           "}\n"
           "float g() {\n"
           "    " + kBegin + "L01.3\n"
           "    return 3;\n"
           "    " + kEnd + "\n"
           "    " + kBegin + "L01.2\n"
           "    return 2;\n"
           "    " + kEnd + "\n"
           "}\n";
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
    size_t at = text.find(from);
    REQUIRE(at != std::string::npos);
    return text.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("grader: the submission's regions replace the stubs, line by line") {
    SplicedFile spliced = splice_regions(published(), answered(), "f.cpp", {});
    CHECK(spliced.text == answered());
    CHECK(spliced.notes.empty());
    REQUIRE(spliced.regions.size() == 3);
    CHECK(spliced.regions[0].task_id == "L01.2");
    CHECK(spliced.regions[0].begin_line == 3);
    CHECK(spliced.regions[0].end_line == 6);
    CHECK(spliced.regions[1].begin_line == 9);
    CHECK(spliced.regions[2].end_line == 14);
    for (const SplicedRegion& region : spliced.regions) CHECK(region.taken);
}

TEST_CASE("grader: a task whose answer did not compile keeps its stubs, in every region") {
    SplicedFile spliced = splice_regions(published(), answered(), "f.cpp", {"L01.2"});
    CHECK(spliced.text == replaced(published(), "    stub(\"L01.3\");\n", "    return 3;\n"));
    CHECK_FALSE(spliced.regions[0].taken);
    CHECK(spliced.regions[1].taken);
    CHECK_FALSE(spliced.regions[2].taken);
}

TEST_CASE("grader: edits outside the regions are ignored and reported at their line") {
    std::string edited = replaced(answered(), "float g() {\n", "float g() { return 99;\n");
    SplicedFile spliced = splice_regions(published(), edited, "src/f.cpp", {});
    CHECK(spliced.text == answered());
    REQUIRE(spliced.notes.size() == 1);
    CHECK(spliced.notes[0] == "src/f.cpp:8: edited outside the solution regions (ignored)");

    // A line added at the end, past everything published, is an edit too.
    spliced = splice_regions(published(), answered() + "int cheat;\n", "src/f.cpp", {});
    CHECK(spliced.text == answered());
    CHECK(spliced.notes == std::vector<std::string>{"src/f.cpp:16: edited outside the solution regions (ignored)"});

    // Another line ending or trailing blanks are not worth a note.
    spliced = splice_regions(published(), replaced(answered(), "#include <x>\n", "#include <x>  \r\n"), "f.cpp", {});
    CHECK(spliced.notes.empty());
}

TEST_CASE("grader: a file without regions is compared whole") {
    CHECK(first_edit("a\nb\nc\n", "a\nb\nc\n", "tests/t.cpp") == "");
    CHECK(first_edit("a\nb\nc\n", "a\nb\n    return;\nc\n", "tests/t.cpp") ==
          "tests/t.cpp:3: edited outside the solution regions (ignored)");
    CHECK(first_edit("a\nb\n", "a\n", "t.cpp") == "t.cpp:2: edited outside the solution regions (ignored)");
}

TEST_CASE("grader: regions that cannot be matched give their task the stub, with a note") {
    SUBCASE("a region of L01.2 deleted: neither of its two is taken, L01.3 is") {
        std::string one_less = replaced(answered(), "    " + kBegin + "L01.2\n    return 2;\n    " + kEnd + "\n", "");
        SplicedFile spliced = splice_regions(published(), one_less, "f.cpp", {});
        CHECK(spliced.text == replaced(published(), "    stub(\"L01.3\");\n", "    return 3;\n"));
        REQUIRE_FALSE(spliced.notes.empty());
        CHECK(spliced.notes[0] == "f.cpp:3: task L01.2 has 1 regions in the submission, 2 published (not taken)");
    }
    SUBCASE("a broken marker: nothing of the file is taken") {
        std::string broken = replaced(answered(), "    " + kEnd + "\n}\nfloat g", "}\nfloat g");
        SplicedFile spliced = splice_regions(published(), broken, "f.cpp", {});
        CHECK(spliced.text == published());
        REQUIRE(spliced.notes.size() == 1);
        CHECK(spliced.notes[0].find("f.cpp:") == 0);
        CHECK(spliced.notes[0].find("(no region of this file taken)") != std::string::npos);
    }
}

TEST_CASE("grader: a tree takes the regions, writes only what changed, and reports the rest") {
    namespace fs = std::filesystem;
    const fs::path root = fs::temp_directory_path() /
                          ("ddpm_test_grader_" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    auto write = [](const fs::path& path, const std::string& text) {
        fs::create_directories(path.parent_path());
        std::ofstream(path, std::ios::binary) << text;
    };
    for (const char* dir : {"published", "tree", "submission"}) {
        write(root / dir / "src/f.cpp", published());
        write(root / dir / "src/g.cpp", published());
        write(root / dir / "tests/test_f.cpp", "TEST_CASE(\"L01.2 f\") {\n    CHECK(f() == 1);\n}\n");
    }
    write(root / "submission/src/f.cpp", answered());
    write(root / "submission/tests/test_f.cpp", "TEST_CASE(\"L01.2 f\") {\n    return;\n    CHECK(f() == 1);\n}\n");
    fs::remove(root / "submission/src/g.cpp");
    const auto untouched = fs::last_write_time(root / "tree/src/g.cpp");

    SpliceSummary summary = splice_tree(root / "published", root / "submission", root / "tree", {"L01.3"});
    CHECK(summary.written == std::vector<std::string>{"src/f.cpp"});
    CHECK(read_text_file(root / "tree/src/f.cpp") == replaced(answered(), "    return 3;\n", "    stub(\"L01.3\");\n"));
    CHECK(fs::last_write_time(root / "tree/src/g.cpp") == untouched);  // make leaves its object alone
    CHECK(read_text_file(root / "tree/tests/test_f.cpp").find("return;") == std::string::npos);
    CHECK(summary.notes == std::vector<std::string>{"src/g.cpp: missing from the submission",
                                                    "tests/test_f.cpp:2: edited outside the solution regions (ignored)"});
    CHECK(summary.regions.size() == 6);
    // The same submission again: nothing to write.
    CHECK(splice_tree(root / "published", root / "submission", root / "tree", {"L01.3"}).written.empty());
    fs::remove_all(root);
}

TEST_CASE("grader: results.json has Gradescope's fields, strings escaped") {
    GradeReport report;
    report.tasks = {{"L00.1", "gradient", 3, 3, "all 2 checks pass"},
                    {"L01.1", "schedule \"alpha\"", 0, 2, "blocked by L00.1\n\tdetails"}};
    report.notes = {"tests/t.cpp:3: edited outside the solution regions (ignored)"};
    CHECK(report.total() == 3);
    CHECK(report.max_total() == 5);
    const std::string json = results_json(report);
    CHECK(json.find("\"score\": 3,\n") != std::string::npos);
    CHECK(json.find("{\"name\": \"L00.1 gradient\", \"score\": 3, \"max_score\": 3, \"output\": \"all 2 checks pass\", "
                    "\"visibility\": \"visible\"},") != std::string::npos);
    CHECK(json.find("\"name\": \"L01.1 schedule \\\"alpha\\\"\", \"score\": 0, \"max_score\": 2, "
                    "\"output\": \"blocked by L00.1\\n\\u0009details\"") != std::string::npos);
    CHECK(json.find("tests/t.cpp:3: edited outside") != std::string::npos);
}

TEST_CASE("grader: the class CSV gets one row per student, a regrade replaces it") {
    GradeReport report;
    report.tasks = {{"L00.1", "", 3, 3, ""}, {"L00.2", "", 0, 3, ""}};
    std::string csv = class_csv_with("", "ada", report);
    CHECK(csv == "student,L00.1,L00.2,total\nada,3,0,3\n");
    csv = class_csv_with(csv, "bob", report);
    report.tasks[1].score = 3;
    csv = class_csv_with(csv, "ada", report);
    CHECK(csv == "student,L00.1,L00.2,total\nbob,3,0,3\nada,3,3,6\n");
    CHECK_THROWS_AS(class_csv_with("student,L09.9,total\n", "ada", report), std::runtime_error);
    CHECK_THROWS_AS(class_csv_with("", "a,b", report), std::runtime_error);
}

TEST_CASE("grader: long outputs keep their end") {
    CHECK(tail_of("short", 10) == "short");
    CHECK(tail_of("0123456789abc", 3) == "[... the first 10 bytes left out ...]\nabc");
}

// ---------------------------------------------------------------------------------------------
// make check-tasks' variants (lessontool stub-task, lessontool mutate)
// ---------------------------------------------------------------------------------------------
TEST_CASE("check-tasks: one task's regions are stubbed, every other region stays") {
    int replaced = 0;
    std::string text = stub_task_text(answered(), "f.cpp", "L01.2", [](const std::string&) { return "lessons/01_x"; },
                                      &replaced);
    CHECK(replaced == 2);
    CHECK(text.find("return 3;") != std::string::npos);
    CHECK(text.find("return 2;") == std::string::npos);
    CHECK(text.find("float a = 1;") == std::string::npos);
    CHECK(find_regions(text, "f.cpp").size() == 3);
    stub_task_text(answered(), "f.cpp", "L09.9", [](const std::string&) { return ""; }, &replaced);
    CHECK(replaced == 0);
}

TEST_CASE("check-tasks: a mutation changes its one occurrence inside the task's regions, or is refused") {
    CHECK(mutate_task_text(answered(), "f.cpp", "L01.3", "return 3;", "return 4;") ==
          replaced(answered(), "return 3;", "return 4;"));
    // "return" occurs twice in L01.2's regions, and "return 3;" never; "#include" is outside them.
    CHECK_THROWS_WITH(mutate_task_text(answered(), "f.cpp", "L01.2", "return", "x"),
                      "f.cpp: 'return' occurs 2 times in the regions of L01.2 (it must occur once)");
    CHECK_THROWS_AS(mutate_task_text(answered(), "f.cpp", "L01.2", "return 3;", "x"), std::runtime_error);
    CHECK_THROWS_AS(mutate_task_text(answered(), "f.cpp", "L01.2", "#include", "x"), std::runtime_error);
    // the markers themselves are not the task's code
    CHECK_THROWS_AS(mutate_task_text(answered(), "f.cpp", "L01.3", "SOLUTION L01.3", "x"), std::runtime_error);
}
