// lessontool.cpp: the course's maintenance tool; argument parsing and dispatch only.
//
//   lessontool student SRC_ROOT DST_DIR                       make the student tree
//   lessontool diff OUT_DIR EXPECTED_DIR [--rtol R] [--atol A] compare a lesson's tables
//   lessontool grades GRADES_TSV --expect pass|fail           check the per-task results
//   lessontool results ROOT OUT_DIR [--grades GRADES_TSV]     write OUT_DIR/index.html (results_page.h)
//   lessontool stub-task ROOT TASK                             stub one task's regions in place
//   lessontool mutate FILE TASK SEARCH REPLACEMENT             change one task's code in place
//   lessontool grade SUBMISSION --published DIR --tree DIR --out JSON [--csv FILE --id NAME]
//                                                              grade one submission (grader.h)
//
// Exit codes: 0 all good, 1 a difference, a problem or an error, 2 a usage error. Errors are one
// line on stderr, "lessontool: <file>:<line>: <problem>".
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "tools/grader.h"
#include "tools/grades.h"
#include "tools/results_page.h"
#include "tools/studentize.h"
#include "tools/tabdiff.h"

namespace tools = ddpm::tools;

namespace {

const char* const kUsage =
    "usage:\n"
    "  lessontool student SRC_ROOT DST_DIR\n"
    "      copy the course tree, each solution region replaced by a not_implemented() stub\n"
    "  lessontool diff OUT_DIR EXPECTED_DIR [--rtol R] [--atol A] [--status FILE]\n"
    "      compare every *.tsv of EXPECTED_DIR with OUT_DIR (defaults: rtol 1e-4, atol 1e-6);\n"
    "      --status writes one line per table (match, differs, missing) for the results page\n"
    "  lessontool grades GRADES_TSV --expect pass|fail\n"
    "      check that every task passes (reference tree) or fails (student tree)\n"
    "  lessontool results ROOT OUT_DIR [--grades GRADES_TSV]\n"
    "      write OUT_DIR/index.html: every lesson's figures, tables, comparison, time and grades\n"
    "  lessontool stub-task ROOT TASK\n"
    "      replace the regions of TASK alone by stubs, in place, in every source file of ROOT/src and\n"
    "      ROOT/lessons; prints the files changed (make check-tasks)\n"
    "  lessontool mutate FILE TASK SEARCH REPLACEMENT\n"
    "      replace the one occurrence of SEARCH inside TASK's regions of FILE, in place (make check-tasks);\n"
    "      \\n in SEARCH and REPLACEMENT is a line break\n"
    "  lessontool grade SUBMISSION --published DIR --tree DIR --out JSON [--csv FILE --id NAME]\n"
    "                   [--timeout SECONDS] [--jobs N]\n"
    "      splice the submission's solution regions into TREE (a built copy of the published\n"
    "      student tree DIR), build, run each task's checks alone; write Gradescope's results.json\n"
    "      and, with --csv, the student's row of the class CSV\n";

// Wrong arguments: reported like other errors, but with exit code 2.
struct UsageError : std::runtime_error {
    explicit UsageError(const std::string& what) : std::runtime_error(what) {}
};

// ---------------------------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------------------------
struct Args {
    std::vector<std::string> positional;
    std::map<std::string, std::string> options;  // "--rtol" -> "1e-3"
};

// Splits the arguments after the command into positional ones and "--name value" or
// "--name=value" options; `allowed` lists the option names this command takes.
Args parse_args(int argc, char** argv, const std::vector<std::string>& allowed,
                const std::string& usage) {
    Args args;
    for (int i = 2; i < argc; i++) {
        std::string arg = argv[i];
        if (arg.compare(0, 2, "--") != 0) {
            args.positional.push_back(arg);
            continue;
        }
        std::string name = arg, value;
        size_t equals = arg.find('=');
        if (equals != std::string::npos) {
            name = arg.substr(0, equals);
            value = arg.substr(equals + 1);
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            throw UsageError(name + " needs a value (" + usage + ")");
        }
        bool known = false;
        for (const std::string& option : allowed) known = known || option == name;
        if (!known) throw UsageError("unknown option " + name + " (" + usage + ")");
        args.options[name] = value;
    }
    return args;
}

void expect_positional(const Args& args, size_t count, const std::string& usage) {
    if (args.positional.size() != count) {
        throw UsageError("expected " + std::to_string(count) + " arguments, got " +
                         std::to_string(args.positional.size()) + " (" + usage + ")");
    }
}

double tolerance_option(const Args& args, const std::string& name, double fallback) {
    auto found = args.options.find(name);
    if (found == args.options.end()) return fallback;
    double value = 0;
    if (!tools::parse_number(found->second, &value) || !std::isfinite(value) || value < 0) {
        throw UsageError(name + " needs a number >= 0, got '" + found->second + "'");
    }
    return value;
}

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------
int run_student(int argc, char** argv) {
    const std::string usage = "usage: lessontool student SRC_ROOT DST_DIR";
    Args args = parse_args(argc, argv, {}, usage);
    expect_positional(args, 2, usage);
    tools::StudentTree tree = tools::make_student_tree(args.positional[0], args.positional[1]);
    std::fprintf(stderr, "%s\n", tools::student_tree_summary(tree, args.positional[1]).c_str());
    return 0;
}

int run_diff(int argc, char** argv) {
    const std::string usage = "usage: lessontool diff OUT_DIR EXPECTED_DIR [--rtol R] [--atol A] [--status FILE]";
    Args args = parse_args(argc, argv, {"--rtol", "--atol", "--status"}, usage);
    expect_positional(args, 2, usage);
    tools::DiffOptions options;
    options.rtol = tolerance_option(args, "--rtol", options.rtol);
    options.atol = tolerance_option(args, "--atol", options.atol);

    tools::DirDiff diff = tools::diff_dirs(args.positional[0], args.positional[1], options);
    for (const std::string& report : diff.reports) std::printf("%s\n", report.c_str());
    std::printf("diff: %d files compared, %d differ\n", diff.files_compared,
                diff.files_differing);
    const auto status = args.options.find("--status");
    if (status != args.options.end())
        tools::write_text_atomic(status->second, tools::diff_status_text(args.positional[0], args.positional[1],
                                                                          options.rtol, options.atol));
    return diff.files_differing == 0 ? 0 : 1;
}

int run_grades(int argc, char** argv) {
    const std::string usage = "usage: lessontool grades GRADES_TSV --expect pass|fail";
    Args args = parse_args(argc, argv, {"--expect"}, usage);
    expect_positional(args, 1, usage);
    auto expect_arg = args.options.find("--expect");
    if (expect_arg == args.options.end()) throw UsageError("--expect is required (" + usage + ")");
    if (expect_arg->second != "pass" && expect_arg->second != "fail") {
        throw UsageError("--expect takes pass or fail, got '" + expect_arg->second + "'");
    }
    tools::Expect expect = expect_arg->second == "pass" ? tools::Expect::pass : tools::Expect::fail;

    const std::string& path = args.positional[0];
    std::vector<tools::GradeRow> rows = tools::parse_grades(tools::read_text_file(path), path);
    std::printf("%s", tools::grades_table(rows, expect).c_str());
    return tools::count_problems(rows, expect) == 0 ? 0 : 1;
}

int run_results(int argc, char** argv) {
    const std::string usage = "usage: lessontool results ROOT OUT_DIR [--grades GRADES_TSV]";
    Args args = parse_args(argc, argv, {"--grades"}, usage);
    expect_positional(args, 2, usage);
    const auto grades = args.options.find("--grades");
    const std::filesystem::path page = tools::write_results_page(
        args.positional[0], args.positional[1], grades == args.options.end() ? "" : grades->second);
    std::fprintf(stderr, "results page: %s\n", page.string().c_str());
    return 0;
}

int count_option(const Args& args, const std::string& name, int fallback) {
    auto found = args.options.find(name);
    if (found == args.options.end()) return fallback;
    double value = 0;
    if (!tools::parse_number(found->second, &value) || value < 1 || value != std::floor(value) || value > 1e6)
        throw UsageError(name + " needs a whole number >= 1, got '" + found->second + "'");
    return static_cast<int>(value);
}

std::string required_option(const Args& args, const std::string& name, const std::string& usage) {
    auto found = args.options.find(name);
    if (found == args.options.end()) throw UsageError(name + " is required (" + usage + ")");
    return found->second;
}

int run_grade(int argc, char** argv) {
    const std::string usage =
        "usage: lessontool grade SUBMISSION --published DIR --tree DIR --out JSON [--csv FILE --id NAME]";
    Args args = parse_args(argc, argv, {"--published", "--tree", "--out", "--csv", "--id", "--timeout", "--jobs"},
                           usage);
    expect_positional(args, 1, usage);
    tools::GradeOptions options;
    options.submission = args.positional[0];
    options.published = required_option(args, "--published", usage);
    options.tree = required_option(args, "--tree", usage);
    options.timeout_seconds = count_option(args, "--timeout", options.timeout_seconds);
    options.jobs = count_option(args, "--jobs", options.jobs);
    const std::string out = required_option(args, "--out", usage);
    const bool with_csv = args.options.count("--csv") > 0;
    if (with_csv != (args.options.count("--id") > 0)) throw UsageError("--csv and --id go together (" + usage + ")");

    tools::GradeReport report = tools::grade_submission(options);
    tools::write_text_atomic(out, tools::results_json(report));
    std::string id = with_csv ? args.options["--id"] : args.positional[0];
    if (with_csv) {
        const std::string csv = args.options["--csv"];
        std::string text = std::filesystem::exists(csv) ? tools::read_text_file(csv) : "";
        tools::write_text_atomic(csv, tools::class_csv_with(text, id, report));
    }
    for (const std::string& note : report.notes) std::fprintf(stderr, "ignored: %s\n", note.c_str());
    std::fprintf(stderr, "grade: %s %g/%g points -> %s (splice and build %.1f s, checks %.1f s)\n", id.c_str(),
                 report.total(), report.max_total(), out.c_str(), report.build_seconds, report.check_seconds);
    return 0;
}

// Files are changed in place here: these commands work on a scratch copy of the tree.
int run_stub_task(int argc, char** argv) {
    const std::string usage = "usage: lessontool stub-task ROOT TASK";
    Args args = parse_args(argc, argv, {}, usage);
    expect_positional(args, 2, usage);
    const std::filesystem::path root = args.positional[0];
    const std::string task = args.positional[1];
    if (!tools::is_task_id(task)) throw UsageError("'" + task + "' is not a task ID like L01.2");
    const std::string lesson_dir = tools::find_lesson_dir(root, task);
    int total = 0;
    for (const char* top : {"src", "lessons"}) {
        for (const auto& entry : std::filesystem::recursive_directory_iterator(root / top)) {
            const std::string ext = entry.path().extension().string();
            if (!entry.is_regular_file() || (ext != ".cpp" && ext != ".h" && ext != ".hpp")) continue;
            const std::string text = tools::read_text_file(entry.path());
            int replaced = 0;
            const std::string stubbed = tools::stub_task_text(text, entry.path().string(), task,
                                                              [&](const std::string&) { return lesson_dir; }, &replaced);
            if (replaced == 0) continue;
            tools::write_text_atomic(entry.path(), stubbed);
            std::printf("%s\n", std::filesystem::relative(entry.path(), root).string().c_str());
            total += replaced;
        }
    }
    if (total == 0) throw std::runtime_error(root.string() + ": no region of " + task);
    return 0;
}

// "\n" (backslash, n) as a line break: tests/mutations.txt keeps one mutation a line.
std::string with_line_breaks(std::string text) {
    for (size_t at = text.find("\\n"); at != std::string::npos; at = text.find("\\n", at + 1)) text.replace(at, 2, "\n");
    return text;
}

int run_mutate(int argc, char** argv) {
    const std::string usage = "usage: lessontool mutate FILE TASK SEARCH REPLACEMENT";
    Args args = parse_args(argc, argv, {}, usage);
    expect_positional(args, 4, usage);
    const std::string& file = args.positional[0];
    tools::write_text_atomic(file, tools::mutate_task_text(tools::read_text_file(file), file, args.positional[1],
                                                           with_line_breaks(args.positional[2]),
                                                           with_line_breaks(args.positional[3])));
    return 0;
}

int run_command(int argc, char** argv) {
    std::string command = argc > 1 ? argv[1] : "";
    if (command == "-h" || command == "--help" || command == "help") {
        std::printf("%s", kUsage);
        return 0;
    }
    if (command == "student") return run_student(argc, argv);
    if (command == "diff") return run_diff(argc, argv);
    if (command == "grades") return run_grades(argc, argv);
    if (command == "results") return run_results(argc, argv);
    if (command == "grade") return run_grade(argc, argv);
    if (command == "stub-task") return run_stub_task(argc, argv);
    if (command == "mutate") return run_mutate(argc, argv);
    if (command.empty()) throw UsageError("no command given (try lessontool --help)");
    throw UsageError("unknown command '" + command + "' (try lessontool --help)");
}

void print_error(const std::string& message) {
    std::fprintf(stderr, "lessontool: %s\n", message.c_str());
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// main: every failure becomes one line on stderr and an exit code, never a crash.
// ---------------------------------------------------------------------------------------------
int main(int argc, char** argv) {
    try {
        return run_command(argc, argv);
    } catch (const UsageError& e) {
        print_error(e.what());
        return 2;
    } catch (const std::filesystem::filesystem_error& e) {
        // Its what() is "filesystem error: <operation>: <reason> [path1] [path2]"; shorter here.
        if (e.path1().empty()) print_error(e.what());
        else print_error(e.path1().string() + ": " + e.code().message());
        return 1;
    } catch (const std::exception& e) {
        print_error(e.what());
        return 1;
    } catch (...) {
        print_error("unexpected error");
        return 1;
    }
}
