// grades.cpp: parse the grades TSV and decide, task by task, whether it is what we expect.
#include "tools/grades.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <stdexcept>

#include "tools/studentize.h"  // is_task_id
#include "tools/tabdiff.h"     // split_lines, split_fields, parse_number

namespace ddpm::tools {

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------
namespace {

const char* const kHeader = "task\tpoints\ttests\tpassed\ttitle";
const char* const kHeaderBlocked = "task\tpoints\ttests\tpassed\ttitle\tblocked_by";
// the test program's since issue 35: the points earned beside the maximum, and a last row "total"
const char* const kHeaderEarned = "task\tpoints\tearned\ttests\tpassed\ttitle\tblocked_by";

[[noreturn]] void malformed(const std::string& filename, int line, const std::string& problem) {
    throw std::runtime_error(filename + ":" + std::to_string(line) + ": " + problem);
}

// A count such as "3": digits only, small enough for an int.
bool parse_count(const std::string& field, int* value) {
    if (field.empty() || field.size() > 9) return false;
    for (char c : field) {
        if (c < '0' || c > '9') return false;
    }
    *value = std::stoi(field);
    return true;
}

GradeRow parse_row(const std::string& line, int line_number, const std::string& filename, bool blocked_column) {
    std::vector<std::string> fields = split_fields(line);
    const size_t want = blocked_column ? 6 : 5;
    if (fields.size() != want) {
        malformed(filename, line_number, "expected " + std::to_string(want) +
                                             " tab-separated fields (task, points, tests, passed, title" +
                                             (blocked_column ? ", blocked_by" : "") + "), got " +
                                             std::to_string(fields.size()));
    }
    GradeRow row;
    row.line = line_number;
    row.task = fields[0];
    row.points = fields[1];
    row.title = fields[4];
    if (!is_task_id(row.task)) {
        malformed(filename, line_number, "task '" + row.task + "' is not an ID like L01.2");
    }
    double points = 0;
    if (!parse_number(row.points, &points) || !std::isfinite(points) || points < 0) {
        malformed(filename, line_number, "points '" + row.points + "' is not a number >= 0");
    }
    if (!parse_count(fields[2], &row.tests)) {
        malformed(filename, line_number, "tests '" + fields[2] + "' is not a count");
    }
    if (!parse_count(fields[3], &row.passed)) {
        malformed(filename, line_number, "passed '" + fields[3] + "' is not a count");
    }
    if (blocked_column && fields[5] != "-") {
        // comma-separated task IDs
        size_t start = 0;
        while (start <= fields[5].size()) {
            size_t comma = fields[5].find(',', start);
            if (comma == std::string::npos) comma = fields[5].size();
            if (!is_task_id(fields[5].substr(start, comma - start))) {
                malformed(filename, line_number, "blocked_by '" + fields[5] + "' is not '-' or IDs like L01.1,L01.3");
            }
            start = comma + 1;
        }
        row.blocked_by = fields[5];
    }
    if (row.passed > row.tests) {
        malformed(filename, line_number, "passed (" + fields[3] + ") is more than tests (" +
                                             fields[2] + ")");
    }
    return row;
}

}  // namespace

std::vector<GradeRow> parse_grades(const std::string& text, const std::string& filename) {
    std::vector<std::string> lines = split_lines(text);
    if (lines.empty()) throw std::runtime_error(filename + ": empty, expected a header line");
    if (lines[0] != kHeader && lines[0] != kHeaderBlocked && lines[0] != kHeaderEarned) {
        malformed(filename, 1, "header must be 'task<TAB>points<TAB>tests<TAB>passed<TAB>title' "
                               "(and optionally '<TAB>blocked_by'), or 'task<TAB>points<TAB>earned<TAB>tests"
                               "<TAB>passed<TAB>title<TAB>blocked_by'");
    }
    const bool earned_column = lines[0] == kHeaderEarned;
    const bool blocked_column = earned_column || lines[0] == kHeaderBlocked;

    std::vector<GradeRow> rows;
    std::map<std::string, int> first_line_of_task;
    for (size_t i = 1; i < lines.size(); i++) {
        int line_number = static_cast<int>(i + 1);
        std::string line = lines[i], earned;
        if (earned_column) {
            std::vector<std::string> fields = split_fields(line);
            if (fields.size() != 7) malformed(filename, line_number, "expected 7 tab-separated fields, got " +
                                                                          std::to_string(fields.size()));
            earned = fields[2];
            double value = 0, points = 0;
            if (!parse_number(earned, &value) || !parse_number(fields[1], &points) || value < 0 || value > points)
                malformed(filename, line_number, "earned '" + earned + "' is not a number from 0 to the points");
            // the total closes the file; its sums are the test program's, nothing to check them by here
            if (fields[0] == "total" && i + 1 == lines.size()) break;
            fields.erase(fields.begin() + 2);
            line = fields[0];
            for (size_t f = 1; f < fields.size(); f++) line += "\t" + fields[f];
        }
        GradeRow row = parse_row(line, line_number, filename, blocked_column);
        row.earned = earned;
        auto [previous, inserted] = first_line_of_task.emplace(row.task, line_number);
        if (!inserted) {
            malformed(filename, line_number, "task " + row.task + " is listed twice (first at line "
                                             + std::to_string(previous->second) + ")");
        }
        rows.push_back(row);
    }
    if (rows.empty()) throw std::runtime_error(filename + ": no tasks listed after the header");
    return rows;
}

// ---------------------------------------------------------------------------------------------
// Verdicts
// ---------------------------------------------------------------------------------------------
std::string grade_problem(const GradeRow& row, Expect expect) {
    // A task without tests would pass in both trees, so it proves nothing either way.
    if (row.tests == 0) return "no test ran for this task";
    int failed = row.tests - row.passed;
    if (expect == Expect::pass && failed > 0) {
        return std::to_string(failed) + " of " + std::to_string(row.tests) + " tests fail";
    }
    if (expect == Expect::fail && failed == 0) {
        return "all " + std::to_string(row.tests) + " tests pass without the solution";
    }
    return "";
}

int count_problems(const std::vector<GradeRow>& rows, Expect expect) {
    int problems = 0;
    for (const GradeRow& row : rows) {
        if (!grade_problem(row, expect).empty()) problems++;
    }
    return problems;
}

// ---------------------------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------------------------
namespace {

std::string table_row(const std::string& task, const std::string& points, const std::string& tests,
                      const std::string& passed, const std::string& verdict) {
    char text[256];
    std::snprintf(text, sizeof text, "%-8s %6s %6s %7s  ", task.c_str(), points.c_str(),
                  tests.c_str(), passed.c_str());
    return text + verdict + "\n";
}

std::string summary_line(int n_tasks, int problems, Expect expect) {
    std::string goal = expect == Expect::pass
                           ? "expect pass: every test of every task passes"
                           : "expect fail: every task fails without its solution";
    std::string tasks = std::to_string(n_tasks) + (n_tasks == 1 ? " task" : " tasks");
    if (problems == 0) return "grades: " + tasks + ", all OK (" + goal + ")\n";
    return "grades: " + tasks + ", " + std::to_string(problems) + " with a PROBLEM (" + goal +
           ")\n";
}

}  // namespace

std::string grades_table(const std::vector<GradeRow>& rows, Expect expect) {
    std::string table = table_row("task", "points", "tests", "passed", "verdict");
    for (const GradeRow& row : rows) {
        std::string problem = grade_problem(row, expect);
        std::string verdict = problem.empty() ? "OK" : "PROBLEM: " + problem;
        // which other task's stub its checks reached: the task to solve first
        if (!row.blocked_by.empty()) verdict += " (blocked by " + row.blocked_by + ")";
        table += table_row(row.task, row.points, std::to_string(row.tests),
                           std::to_string(row.passed), verdict);
    }
    int n_tasks = static_cast<int>(rows.size());
    return table + summary_line(n_tasks, count_problems(rows, expect), expect);
}

}  // namespace ddpm::tools
