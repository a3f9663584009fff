// grading.h: from the results of the test cases to the grade table (used by tests/main.cpp, and
// tested in tests/test_tools.cpp).
//
// A graded check is a test case whose name starts with a task ID ("L03.1 the loss by hand"). In the
// student tree a stub throws "not implemented: L01.1 (see lessons/01_forward/README.md)"; when a
// check of task L03.1 fails because it reached the stub of L01.1, the failure is not L03.1's own:
// the table says "blocked by L01.1", so that a student knows which task to solve first.
#pragma once

#include <cctype>
#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tasks.h"

namespace grading {

// What one test case did: how often it ran, whether every run passed, and the tasks whose stubs
// its failures came from (the IDs of the "not implemented: ..." exceptions it saw).
struct CaseResult {
    int runs = 0;
    bool passed = true;
    bool other_failure = false;   // a failure that was not a stub's exception (a wrong value)
    std::set<std::string> stubs;  // task IDs of the stubs that made it fail
};

// "L00.1 gradcheck of add" -> "L00.1"; "" when the name does not start with a task ID.
inline std::string task_of(const std::string& name) {
    if (name.size() < 6 || name[0] != 'L' || !std::isdigit(static_cast<unsigned char>(name[1])) ||
        !std::isdigit(static_cast<unsigned char>(name[2])) || name[3] != '.')
        return "";
    size_t end = 4;
    while (end < name.size() && std::isdigit(static_cast<unsigned char>(name[end]))) ++end;
    if (end == 4 || (end < name.size() && name[end] != ' ')) return "";
    return name.substr(0, end);
}

// The task of the stub named in an exception's message ("not implemented: L01.1 (see ...)"), or
// "" when the message is not a stub's.
inline std::string stub_of(const std::string& message) {
    const std::string marker = "not implemented: ";
    const size_t at = message.find(marker);
    if (at == std::string::npos) return "";
    const std::string rest = message.substr(at + marker.size());
    size_t end = 0;
    while (end < rest.size() && rest[end] != ' ' && rest[end] != ')') ++end;
    const std::string id = rest.substr(0, end);
    return task_of(id + " x").empty() ? "" : id;
}

// One row of the grade table.
struct TaskGrade {
    std::string id;
    int points = 0;
    int tests = 0, passed = 0;
    std::set<std::string> blocked_by;  // other tasks whose stubs failed this task's checks
    bool own_failure = false;          // a failing check that no other task's stub explains
    bool full() const { return tests > 0 && passed == tests; }
};

// The grade of every task of `tasks`, in that order, from the cases by name. Cases whose task is not
// in `tasks` are listed in *unknown (when given).
inline std::vector<TaskGrade> grade(const std::map<std::string, CaseResult>& cases, const std::vector<GradedTask>& tasks,
                                    std::vector<std::string>* unknown = nullptr) {
    std::map<std::string, TaskGrade> by_id;
    for (const GradedTask& t : tasks) {
        by_id[t.id].id = t.id;
        by_id[t.id].points = t.points;
    }
    for (const auto& [name, r] : cases) {
        const std::string id = task_of(name);
        if (id.empty()) continue;
        auto it = by_id.find(id);
        if (it == by_id.end()) {
            if (unknown) unknown->push_back(name);
            continue;
        }
        TaskGrade& g = it->second;
        g.tests += 1;
        g.passed += r.passed ? 1 : 0;
        if (r.passed) continue;
        bool explained = false;  // by the stub of another task
        for (const std::string& stub : r.stubs) {
            if (stub == id) continue;
            g.blocked_by.insert(stub);
            explained = true;
        }
        if (!explained || r.other_failure || r.stubs.count(id)) g.own_failure = true;
    }
    std::vector<TaskGrade> out;
    for (const GradedTask& t : tasks) out.push_back(by_id[t.id]);
    return out;
}

// "" for a task that passes or fails on its own; "blocked by L01.1" when every failing check of the
// task reached another task's stub; "also blocked by L01.1, L01.3" when some did.
inline std::string note_of(const TaskGrade& g) {
    if (g.blocked_by.empty()) return "";
    std::string ids;
    for (const std::string& id : g.blocked_by) ids += (ids.empty() ? "" : ", ") + id;
    return (g.own_failure ? "also blocked by " : "blocked by ") + ids;
}

// The IDs of blocked_by joined by commas, or "-" (the grades TSV's last column).
inline std::string blocked_field(const TaskGrade& g) {
    std::string ids;
    for (const std::string& id : g.blocked_by) ids += (ids.empty() ? "" : ",") + id;
    return ids.empty() ? "-" : ids;
}

}  // namespace grading
