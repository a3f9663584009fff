// main.cpp of the test binary: runs doctest, then prints the grade table.
//
// Each graded task scores its points when it has at least one check and all its checks pass.
// With DDPM_GRADES_TSV=FILE the table is also written as TSV (for `make check-student`).
// The last line is "tests: N passed, M failed" (test cases), for CI.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>

#include "core/io.h"
#include "tasks.h"

namespace {

struct CaseResult {
    int runs = 0;
    bool passed = true;
};
std::map<std::string, CaseResult> g_cases;  // test case name -> result
std::mutex g_mutex;

// "L00.1 gradcheck of add" -> "L00.1"; "" when the name does not start with a task ID.
std::string task_of(const std::string& name) {
    if (name.size() < 6 || name[0] != 'L' || !isdigit(name[1]) || !isdigit(name[2]) || name[3] != '.') return "";
    size_t end = 4;
    while (end < name.size() && isdigit(name[end])) ++end;
    if (end == 4 || (end < name.size() && name[end] != ' ')) return "";
    return name.substr(0, end);
}

struct GradeListener : doctest::IReporter {
    const doctest::TestCaseData* current = nullptr;
    explicit GradeListener(const doctest::ContextOptions&) {}
    void report_query(const doctest::QueryData&) override {}
    void test_run_start() override {}
    void test_run_end(const doctest::TestRunStats&) override {}
    void test_case_start(const doctest::TestCaseData& tc) override { current = &tc; }
    void test_case_reenter(const doctest::TestCaseData&) override {}
    void test_case_end(const doctest::CurrentTestCaseStats& st) override {
        std::lock_guard<std::mutex> lock(g_mutex);
        CaseResult& r = g_cases[current->m_name];
        ++r.runs;
        r.passed = r.passed && st.testCaseSuccess;
    }
    void test_case_exception(const doctest::TestCaseException&) override {}
    void subcase_start(const doctest::SubcaseSignature&) override {}
    void subcase_end() override {}
    void log_assert(const doctest::AssertData&) override {}
    void log_message(const doctest::MessageData&) override {}
    void test_case_skipped(const doctest::TestCaseData&) override {}
};

REGISTER_LISTENER("grades", 1, GradeListener);

// Prints the grade table; returns false when a graded check names an unknown task.
bool report_grades() {
    struct Tally { int tests = 0, passed = 0; };
    std::map<std::string, Tally> tally;
    bool consistent = true;
    for (const auto& [name, r] : g_cases) {
        std::string id = task_of(name);
        if (id.empty()) continue;
        bool known = false;
        for (const GradedTask& t : graded_tasks()) known = known || id == t.id;
        if (!known) {
            std::printf("graded check '%s' names a task missing from tests/tasks.h\n", name.c_str());
            consistent = false;
        }
        tally[id].tests += 1;
        tally[id].passed += r.passed ? 1 : 0;
    }
    ddpm::Table table({"task", "points", "tests", "passed", "title"});
    int total = 0, earned = 0;
    for (const GradedTask& t : graded_tasks()) {
        const Tally& c = tally[t.id];
        const bool full = c.tests > 0 && c.passed == c.tests;
        total += t.points;
        earned += full ? t.points : 0;
        table.add_row({t.id, std::to_string(full ? t.points : 0) + "/" + std::to_string(t.points),
                       std::to_string(c.tests), std::to_string(c.passed), t.title});
    }
    std::printf("\n");
    table.print("Grade table (a task scores when all of its checks pass):");
    std::printf("grade: %d/%d points\n", earned, total);
    if (const char* path = std::getenv("DDPM_GRADES_TSV")) {
        ddpm::Table tsv({"task", "points", "tests", "passed", "title"});
        for (const GradedTask& t : graded_tasks())
            tsv.add_row({t.id, std::to_string(t.points), std::to_string(tally[t.id].tests),
                         std::to_string(tally[t.id].passed), t.title});
        tsv.save_tsv(path);
    }
    return consistent;
}

}  // namespace

int main(int argc, char** argv) {
    doctest::Context context;
    context.applyCommandLine(argc, argv);
    int status = context.run();
    if (context.shouldExit()) return status;
    bool consistent = report_grades();
    int passed = 0, failed = 0;
    for (const auto& kv : g_cases) (kv.second.passed ? passed : failed) += 1;
    std::printf("tests: %d passed, %d failed\n", passed, failed);
    return (status != 0 || !consistent) ? 1 : 0;
}
