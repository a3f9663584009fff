// grader.cpp: splice, build, run each task's checks alone, write the scores.
#include "tools/grader.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "tools/grades.h"
#include "tools/splice.h"
#include "tools/tabdiff.h"

namespace ddpm::tools {

namespace fs = std::filesystem;

double GradeReport::total() const {
    double sum = 0;
    for (const TaskScore& task : tasks) sum += task.score;
    return sum;
}

double GradeReport::max_total() const {
    double sum = 0;
    for (const TaskScore& task : tasks) sum += task.max_score;
    return sum;
}

std::string tail_of(const std::string& text, size_t limit) {
    if (text.size() <= limit) return text;
    return "[... the first " + std::to_string(text.size() - limit) + " bytes left out ...]\n" +
           text.substr(text.size() - limit);
}

// ---------------------------------------------------------------------------------------------
// Running a program with a time limit
// ---------------------------------------------------------------------------------------------
namespace {

struct Finished {
    bool timed_out = false;
    int signal = 0;     // the signal that killed it, or 0
    int exit_code = 0;  // when it exited
    std::string output;  // stdout and stderr together
};

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Runs argv in `dir` with stdout and stderr into `log`, in its own process group, so that on
// timeout the whole group (make and its compilers, or the test program's threads) is killed.
Finished run_process(const std::vector<std::string>& argv, const fs::path& dir, const fs::path& log,
                     const std::map<std::string, std::string>& env, int timeout_seconds) {
    std::vector<char*> args;
    for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(errno));
    if (pid == 0) {
        setpgid(0, 0);
        int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || chdir(dir.c_str()) != 0) _exit(127);
        dup2(fd, 1);
        dup2(fd, 2);
        // make's jobserver of a calling make is not ours to use
        for (const char* name : {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}) unsetenv(name);
        for (const auto& [name, value] : env) setenv(name.c_str(), value.c_str(), 1);
        execvp(args[0], args.data());
        std::fprintf(stderr, "cannot run %s: %s\n", args[0], std::strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid);  // the child does it too: whichever runs first, a kill finds the group
    Finished finished;
    auto start = std::chrono::steady_clock::now();
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (seconds_since(start) > timeout_seconds) {
            finished.timed_out = true;
            kill(-pid, SIGKILL);
            waitpid(pid, &status, 0);
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!finished.timed_out && WIFSIGNALED(status)) finished.signal = WTERMSIG(status);
    if (!finished.timed_out && WIFEXITED(status)) finished.exit_code = WEXITSTATUS(status);
    finished.output = fs::exists(log) ? read_text_file(log) : "";
    return finished;
}

// ---------------------------------------------------------------------------------------------
// Building, and tracing compiler errors to tasks
// ---------------------------------------------------------------------------------------------
using RegionList = std::vector<std::pair<std::string, SplicedRegion>>;

// The taken tasks that a failed build's log blames: an error at a line of a region blames its
// task; an error elsewhere in a file with taken regions (or a link error naming its object)
// blames every taken task of the file. Each task gets the log lines that blame it.
std::map<std::string, std::string> blamed_tasks(const std::string& log, const RegionList& regions) {
    static const std::regex located(R"(^([A-Za-z0-9_./-]+\.(?:cpp|h|hpp)):(\d+):(?:\d+:)? (?:fatal )?error)");
    static const std::regex object(R"(obj/([A-Za-z0-9_./-]+)\.o)");
    std::map<std::string, std::string> blamed;
    std::istringstream lines(log);
    std::string line;
    while (std::getline(lines, line)) {
        std::smatch match;
        std::string file;
        int number = 0;
        if (std::regex_search(line, match, located)) {
            file = match[1];
            number = std::stoi(match[2]);
        } else if (line.find("undefined reference") != std::string::npos && std::regex_search(line, match, object)) {
            file = match[1].str() + ".cpp";
        } else {
            continue;
        }
        std::set<std::string> tasks;
        for (const auto& [name, region] : regions) {
            if (name != file || !region.taken) continue;
            if (number >= region.begin_line && number <= region.end_line) tasks = {region.task_id};
        }
        if (tasks.empty())
            for (const auto& [name, region] : regions)
                if (name == file && region.taken) tasks.insert(region.task_id);
        for (const std::string& task : tasks)
            if (std::count(blamed[task].begin(), blamed[task].end(), '\n') < 20) blamed[task] += line + "\n";
    }
    return blamed;
}

// Splices and builds until the test program links; returns the tasks left out with their errors.
std::map<std::string, std::string> splice_and_build(const GradeOptions& options, GradeReport* report) {
    std::set<std::string> keep_stub;
    std::map<std::string, std::string> failed;
    const fs::path log = options.tree / "build/grade-build.log";
    for (;;) {
        SpliceSummary summary = splice_tree(options.published, options.submission, options.tree, keep_stub);
        if (report->notes.empty()) report->notes = summary.notes;
        Finished build = run_process({"make", "-k", "-j" + std::to_string(options.jobs), "BUILD=build",
                                      "build/tests/run_tests"},
                                     options.tree, log, {}, 3600);
        if (build.exit_code == 0 && build.signal == 0 && !build.timed_out) return failed;
        std::map<std::string, std::string> blamed = blamed_tasks(build.output, summary.regions);
        if (blamed.empty()) {
            // Nothing points at one answer (a linker's complaint, say): every answer taken is out.
            for (const auto& [name, region] : summary.regions)
                if (region.taken) blamed[region.task_id] = tail_of(build.output, 2000);
        }
        if (blamed.empty())
            throw std::runtime_error(options.tree.string() + ": does not build with every stub in place (" +
                                     log.string() + ")");
        for (const auto& [task, lines] : blamed) {
            keep_stub.insert(task);
            failed[task] += lines;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// One task's checks
// ---------------------------------------------------------------------------------------------
const char* const kTestProgram = "build/tests/run_tests";

std::vector<GradeRow> read_grades(const fs::path& path) {
    return parse_grades(read_text_file(path), path.string());
}

// The tasks, their points and titles: the grade table of a run that matches no check.
// The tasks, and for each the tasks it needs first (tests/tasks.h): the tasks whose code its checks
// also run.
std::vector<GradeRow> list_tasks(const GradeOptions& options, std::map<std::string, std::vector<std::string>>* needs) {
    const fs::path tsv = fs::absolute(options.tree / "build/grade-tasks.tsv");
    const fs::path needs_tsv = fs::absolute(options.tree / "build/grade-needs.tsv");
    fs::remove(tsv);
    fs::remove(needs_tsv);
    run_process({kTestProgram, "-tc=no check has this name"}, options.tree, options.tree / "build/grade-tasks.log",
                {{"DDPM_GRADES_TSV", tsv.string()}, {"DDPM_TASKS_TSV", needs_tsv.string()}}, options.timeout_seconds);
    if (!fs::exists(tsv)) throw std::runtime_error(tsv.string() + ": the test program wrote no task list");
    std::ifstream in(needs_tsv);  // absent from a test program older than the list: no task needs another
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line)) {
        const size_t tab = line.find('\t');
        if (tab == std::string::npos) continue;
        std::istringstream ids(line.substr(tab + 1));
        for (std::string id; ids >> id;)
            if (id != "-") (*needs)[line.substr(0, tab)].push_back(id);
    }
    return read_grades(tsv);
}

// A crash or a hang in a task's checks may come from another task's code that they run: the tasks
// it needs first that have not scored (graded before it, in tasks.h's order).
std::string blocked_note(const std::vector<std::string>& needs, const std::vector<TaskScore>& scored) {
    std::string blockers;
    for (const std::string& id : needs)
        for (const TaskScore& s : scored)
            if (s.id == id && s.score < s.max_score) blockers += (blockers.empty() ? "" : ",") + id;
    if (blockers.empty()) return "";
    return "; blocked by " + blockers + ": its checks also run the code of " + blockers +
           ", which does not pass its own checks yet; solve that first";
}

double points_of(const GradeRow& row) {
    double points = 0;
    if (!parse_number(row.points, &points)) throw std::runtime_error("task " + row.task + ": points '" + row.points + "'");
    return points;
}

std::string signal_name(int signal) {
    const char* name = strsignal(signal);
    return "signal " + std::to_string(signal) + (name ? std::string(" (") + name + ")" : "");
}

// Runs the checks of one task alone and scores it.
TaskScore score_task(const GradeOptions& options, const GradeRow& listed, const std::string& blocked) {
    TaskScore task{listed.task, listed.title, 0, points_of(listed), ""};
    const fs::path tsv = fs::absolute(options.tree / "build/grade-task.tsv");
    fs::remove(tsv);
    Finished run = run_process({kTestProgram, "-tc=" + listed.task + " *"}, options.tree,
                               options.tree / "build/grade-task.log", {{"DDPM_GRADES_TSV", tsv.string()}},
                               options.timeout_seconds);
    const std::string output = tail_of(run.output, 3000);
    if (run.timed_out) {
        task.output = "its checks did not finish in " + std::to_string(options.timeout_seconds) + " s" + blocked + "\n" +
                      output;
        return task;
    }
    if (run.signal != 0) {
        task.output = "its checks crashed: " + signal_name(run.signal) + blocked + "\n" + output;
        return task;
    }
    GradeRow row;
    if (fs::exists(tsv))
        for (const GradeRow& r : read_grades(tsv))
            if (r.task == listed.task) row = r;
    if (row.task.empty()) {
        task.output = "the test program wrote no grades (exit code " + std::to_string(run.exit_code) + ")\n" + output;
        return task;
    }
    if (row.tests > 0 && row.passed == row.tests) {
        task.score = task.max_score;
        task.output = "all " + std::to_string(row.tests) + " checks pass";
        return task;
    }
    task.output = std::to_string(row.passed) + " of " + std::to_string(row.tests) + " checks pass";
    if (!row.blocked_by.empty() && row.blocked_by != "-")
        task.output += "; blocked by " + row.blocked_by + ": its checks fail in the stub of " + row.blocked_by +
                       ", solve that first";
    task.output += "\n" + output;
    return task;
}

}  // namespace

GradeReport grade_submission(const GradeOptions& options) {
    for (const fs::path& dir : {options.submission, options.published, options.tree})
        if (!fs::is_directory(dir)) throw std::runtime_error(dir.string() + ": not a directory");
    if (!fs::exists(options.tree / kTestProgram))
        throw std::runtime_error((options.tree / kTestProgram).string() + ": not built (make grade-tree)");
    GradeReport report;
    auto start = std::chrono::steady_clock::now();
    std::map<std::string, std::string> not_compiled = splice_and_build(options, &report);
    report.build_seconds = seconds_since(start);
    start = std::chrono::steady_clock::now();
    std::map<std::string, std::vector<std::string>> needs;
    for (const GradeRow& listed : list_tasks(options, &needs)) {
        auto failed = not_compiled.find(listed.task);
        if (failed == not_compiled.end()) {
            report.tasks.push_back(score_task(options, listed, blocked_note(needs[listed.task], report.tasks)));
            continue;
        }
        report.tasks.push_back({listed.task, listed.title, 0, points_of(listed),
                                "its code does not compile (left out, so that the other tasks build):\n" +
                                    failed->second});
    }
    report.check_seconds = seconds_since(start);
    return report;
}

// ---------------------------------------------------------------------------------------------
// Writing the scores
// ---------------------------------------------------------------------------------------------
namespace {

std::string json_string(const std::string& text) {
    std::string quoted = "\"";
    for (unsigned char c : text) {
        if (c == '"' || c == '\\') {
            quoted += '\\';
            quoted += static_cast<char>(c);
        } else if (c == '\n') {
            quoted += "\\n";
        } else if (c < 0x20) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
            quoted += escaped;
        } else {
            quoted += static_cast<char>(c);
        }
    }
    return quoted + "\"";
}

std::string number(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", value);
    return text;
}

}  // namespace

std::string results_json(const GradeReport& report) {
    std::string notes;
    for (const std::string& note : report.notes) notes += note + "\n";
    if (!notes.empty()) notes = "Ignored (only the solution regions are graded):\n" + notes;
    std::string json = "{\n  \"score\": " + number(report.total()) + ",\n  \"output\": " + json_string(notes) +
                       ",\n  \"tests\": [\n";
    for (size_t i = 0; i < report.tasks.size(); i++) {
        const TaskScore& task = report.tasks[i];
        json += "    {\"name\": " + json_string(task.id + " " + task.title) + ", \"score\": " + number(task.score) +
                ", \"max_score\": " + number(task.max_score) + ", \"output\": " + json_string(task.output) +
                ", \"visibility\": \"visible\"}" + (i + 1 < report.tasks.size() ? ",\n" : "\n");
    }
    return json + "  ]\n}\n";
}

std::string class_csv_with(const std::string& csv, const std::string& student, const GradeReport& report) {
    if (student.find_first_of(",\"\n") != std::string::npos)
        throw std::runtime_error("student id '" + student + "': no commas, quotes or line breaks");
    std::string header = "student", row = student;
    for (const TaskScore& task : report.tasks) {
        header += "," + task.id;
        row += "," + number(task.score);
    }
    header += ",total";
    row += "," + number(report.total());
    std::istringstream lines(csv);
    std::string line, result = header + "\n";
    if (std::getline(lines, line) && line != header)
        throw std::runtime_error("the class CSV's header is '" + line + "', this grade's '" + header + "'");
    while (std::getline(lines, line))
        if (line.compare(0, student.size() + 1, student + ",") != 0) result += line + "\n";
    return result + row + "\n";
}

}  // namespace ddpm::tools
