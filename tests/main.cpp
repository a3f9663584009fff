// main.cpp of the test binary: runs doctest, then prints the grade table.
//
// Each graded task scores its points when it has at least one check and all its checks pass; a task
// whose checks fail in another task's stub is shown "blocked by" that task (tests/grading.h).
// With DDPM_GRADES_TSV=FILE the table is also written as TSV (for `make check-student` and the
// grader): points, earned, tests, passed per task and a last row "total"; the file is removed when
// the run starts and written at its end through a temporary name. With DDPM_TASKS_TSV=FILE the
// tasks are listed with the tasks each needs first (tests/tasks.h), for the grader.
// The last line is "tests: N passed, M failed" (test cases), for CI.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>

#include "core/io.h"
#include "grading.h"
#include "tasks.h"

namespace {

std::map<std::string, grading::CaseResult> g_cases;  // test case name -> result
std::mutex g_mutex;

struct GradeListener : doctest::IReporter {
    const doctest::TestCaseData* current = nullptr;
    grading::CaseResult run;  // what the current run of the current case saw
    explicit GradeListener(const doctest::ContextOptions&) {}
    void report_query(const doctest::QueryData&) override {}
    void test_run_start() override {}
    void test_run_end(const doctest::TestRunStats&) override {}
    void test_case_start(const doctest::TestCaseData& tc) override {
        current = &tc;
        run = {};
    }
    void test_case_reenter(const doctest::TestCaseData&) override {}
    void test_case_end(const doctest::CurrentTestCaseStats& st) override {
        std::lock_guard<std::mutex> lock(g_mutex);
        grading::CaseResult& r = g_cases[current->m_name];
        ++r.runs;
        r.passed = r.passed && st.testCaseSuccess;
        r.other_failure = r.other_failure || run.other_failure;
        r.stubs.insert(run.stubs.begin(), run.stubs.end());
        run = {};
    }
    // An exception that left the test case: a stub's, or something else.
    void test_case_exception(const doctest::TestCaseException& e) override { saw_failure(e.error_string.c_str()); }
    void subcase_start(const doctest::SubcaseSignature&) override {}
    void subcase_end() override {}
    // A failed check: one that threw (maybe a stub's exception) or one that compared wrong values.
    void log_assert(const doctest::AssertData& a) override {
        if (!a.m_failed) return;
        if (a.m_threw) {
            saw_failure(a.m_exception.c_str());
        } else {
            std::lock_guard<std::mutex> lock(g_mutex);
            run.other_failure = true;
        }
    }
    void log_message(const doctest::MessageData&) override {}
    void test_case_skipped(const doctest::TestCaseData&) override {}

    void saw_failure(const std::string& message) {
        std::lock_guard<std::mutex> lock(g_mutex);
        const std::string stub = grading::stub_of(message);
        if (stub.empty()) {
            run.other_failure = true;
        } else {
            run.stubs.insert(stub);
        }
    }
};

REGISTER_LISTENER("grades", 1, GradeListener);

// Prints the grade table; returns false when a graded check names an unknown task.
bool report_grades() {
    std::vector<std::string> unknown;
    const std::vector<grading::TaskGrade> grades = grading::grade(g_cases, graded_tasks(), &unknown);
    for (const std::string& name : unknown)
        std::printf("graded check '%s' names a task missing from tests/tasks.h\n", name.c_str());
    ddpm::Table table({"task", "points", "tests", "passed", "title", "note"});
    // With a filter (make test T=L04.1) only some tasks ran: the table shows those.
    bool all_ran = true;
    for (const grading::TaskGrade& g : grades) all_ran = all_ran && g.tests > 0;
    int total = 0, earned = 0, not_run = 0;
    for (size_t i = 0; i < grades.size(); ++i) {
        const grading::TaskGrade& g = grades[i];
        if (!all_ran && g.tests == 0) {
            ++not_run;
            continue;
        }
        total += g.points;
        earned += g.full() ? g.points : 0;
        table.add_row({g.id, std::to_string(g.full() ? g.points : 0) + "/" + std::to_string(g.points),
                       std::to_string(g.tests), std::to_string(g.passed), graded_tasks()[i].title,
                       grading::note_of(g)});
    }
    std::printf("\n");
    table.print("Grade table (a task scores when all of its checks pass; \"blocked by L01.1\": its checks "
                "fail in the stub of L01.1, solve that first):");
    std::printf("grade: %d/%d points", earned, total);
    if (not_run > 0) std::printf(" (%d tasks not run: a filter such as make test T=L04.1 was given)", not_run);
    std::printf("\n");
    if (const char* path = std::getenv("DDPM_GRADES_TSV")) {
        // every task (those a filter left out with 0 tests), then the total of those that ran;
        // save_tsv writes a temporary file and renames it
        ddpm::Table tsv({"task", "points", "earned", "tests", "passed", "title", "blocked_by"});
        int tests = 0, passed = 0;
        for (size_t i = 0; i < grades.size(); ++i) {
            tsv.add_row({grades[i].id, std::to_string(grades[i].points),
                         std::to_string(grades[i].full() ? grades[i].points : 0), std::to_string(grades[i].tests),
                         std::to_string(grades[i].passed), graded_tasks()[i].title,
                         grading::blocked_field(grades[i])});
            tests += grades[i].tests;
            passed += grades[i].passed;
        }
        tsv.add_row({"total", std::to_string(total), std::to_string(earned), std::to_string(tests),
                     std::to_string(passed), "-", "-"});
        tsv.save_tsv(path);
    }
    return unknown.empty();
}

}  // namespace

int main(int argc, char** argv) {
    // A run that crashes leaves no grades file rather than the last run's, which would look current.
    if (const char* path = std::getenv("DDPM_GRADES_TSV")) std::remove(path);
    if (const char* path = std::getenv("DDPM_TASKS_TSV")) {
        ddpm::Table tsv({"task", "needs"});
        for (const GradedTask& t : graded_tasks()) tsv.add_row({t.id, *t.needs ? t.needs : "-"});
        tsv.save_tsv(path);
    }
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
