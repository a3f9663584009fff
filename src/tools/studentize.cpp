// studentize.cpp: find the solution regions of a file, replace them by stubs, copy the tree.
#include "tools/studentize.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

#include "tools/tabdiff.h"  // read_text_file

namespace ddpm::tools {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// Task IDs
// ---------------------------------------------------------------------------------------------
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

bool is_task_id(const std::string& text) {
    // L, two digits, '.', then at least one digit: "L01.2".
    if (text.size() < 5 || text[0] != 'L' || !is_digit(text[1]) || !is_digit(text[2]) ||
        text[3] != '.') {
        return false;
    }
    return std::all_of(text.begin() + 4, text.end(), is_digit);
}

// ---------------------------------------------------------------------------------------------
// Reading marker lines
// ---------------------------------------------------------------------------------------------
namespace {

enum class MarkerKind { none, begin, end };

struct Marker {
    MarkerKind kind = MarkerKind::none;
    std::vector<std::string> words;  // the words after "BEGIN SOLUTION" or "END SOLUTION"
};

std::string upper(std::string word) {
    for (char& c : word) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return word;
}

std::vector<std::string> split_words(const std::string& text) {
    std::istringstream in(text);
    std::vector<std::string> words;
    std::string word;
    while (in >> word) words.push_back(word);
    return words;
}

std::string join_words(const std::vector<std::string>& words, size_t first) {
    std::string joined;
    for (size_t i = first; i < words.size(); i++) joined += (i > first ? " " : "") + words[i];
    return joined;
}

std::string leading_indent(const std::string& line) {
    size_t n = 0;
    while (n < line.size() && (line[n] == ' ' || line[n] == '\t')) n++;
    return line.substr(0, n);
}

// A line is a marker when, after its indentation, it is a "//" comment whose first two words are
// BEGIN (or END) and SOLUTION in any case. Wrongly cased keywords are reported rather than
// ignored, since an ignored region would leave its solution in the student tree.
// Throws the problem (without the file and line) for a malformed marker.
Marker parse_marker(const std::string& line) {
    std::string rest = line.substr(leading_indent(line).size());
    if (rest.compare(0, 2, "//") != 0) return {};
    std::vector<std::string> words = split_words(rest.substr(2));
    if (words.size() < 2) return {};
    std::string first = upper(words[0]), second = upper(words[1]);
    if ((first != "BEGIN" && first != "END") || second.compare(0, 8, "SOLUTION") != 0) return {};

    if (words[0] != first || words[1] != "SOLUTION") {
        std::string example = first == "BEGIN" ? "// BEGIN SOLUTION L01.2" : "// END SOLUTION";
        throw std::runtime_error("malformed marker '" + join_words(words, 0) +
                                 "': write it exactly as '" + example + "'");
    }
    Marker marker;
    marker.kind = first == "BEGIN" ? MarkerKind::begin : MarkerKind::end;
    marker.words.assign(words.begin() + 2, words.end());
    return marker;
}

// Checks the words after "BEGIN SOLUTION": exactly one well-formed task ID.
void check_begin_words(const std::vector<std::string>& words) {
    if (words.empty()) {
        throw std::runtime_error("BEGIN SOLUTION without a task ID (write e.g. "
                                 "'// BEGIN SOLUTION L01.2')");
    }
    if (!is_task_id(words[0])) {
        throw std::runtime_error("malformed task ID '" + words[0] +
                                 "': expected L, two digits, '.', a number, like L01.2");
    }
    if (words.size() > 1) {
        throw std::runtime_error("text after the task ID " + words[0] + ": '" +
                                 join_words(words, 1) + "' (put comments on the next line)");
    }
}

// Checks the words after "END SOLUTION": nothing, or the ID of the region it closes.
void check_end_words(const std::vector<std::string>& words, const Region& open) {
    if (words.empty()) return;
    if (words.size() == 1 && words[0] == open.task_id) return;
    if (words.size() == 1 && is_task_id(words[0])) {
        throw std::runtime_error("END SOLUTION " + words[0] + " closes the region " +
                                 open.task_id + " opened at line " +
                                 std::to_string(open.begin_line));
    }
    throw std::runtime_error("text after END SOLUTION: '" + join_words(words, 0) + "'");
}

// The lines of a text, each with its own line ending ("\n", "\r\n" or none for the last one),
// so that lines outside regions can be written back byte for byte.
std::vector<std::string> split_keeping_endings(const std::string& text) {
    std::vector<std::string> lines;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        end = end == std::string::npos ? text.size() : end + 1;
        lines.push_back(text.substr(start, end - start));
        start = end;
    }
    return lines;
}

// A line without its ending and trailing whitespace, for reading markers.
std::string line_content(const std::string& line) {
    size_t n = line.size();
    while (n > 0 && std::isspace(static_cast<unsigned char>(line[n - 1]))) n--;
    return line.substr(0, n);
}

std::string line_ending(const std::string& line) {
    if (line.size() >= 2 && line.compare(line.size() - 2, 2, "\r\n") == 0) return "\r\n";
    if (!line.empty() && line.back() == '\n') return "\n";
    return "";
}

std::runtime_error located(const std::string& filename, int line, const std::string& problem) {
    return std::runtime_error(filename + ":" + std::to_string(line) + ": " + problem);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Regions of one file
// ---------------------------------------------------------------------------------------------
std::vector<Region> find_regions(const std::string& text, const std::string& filename) {
    std::vector<std::string> lines = split_keeping_endings(text);
    std::vector<Region> regions;
    bool inside = false;
    Region open;

    for (size_t i = 0; i < lines.size(); i++) {
        int line_number = static_cast<int>(i + 1);
        std::string content = line_content(lines[i]);
        try {
            Marker marker = parse_marker(content);
            if (marker.kind == MarkerKind::begin) {
                check_begin_words(marker.words);
                if (inside) {
                    throw std::runtime_error("nested BEGIN SOLUTION " + marker.words[0] +
                                             ": region " + open.task_id + " opened at line " +
                                             std::to_string(open.begin_line) +
                                             " has no END SOLUTION yet");
                }
                inside = true;
                open = Region{marker.words[0], line_number, 0, leading_indent(content)};
            } else if (marker.kind == MarkerKind::end) {
                if (!inside) throw std::runtime_error("END SOLUTION without a BEGIN SOLUTION");
                check_end_words(marker.words, open);
                inside = false;
                open.end_line = line_number;
                regions.push_back(open);
            }
        } catch (const std::runtime_error& problem) {
            throw located(filename, line_number, problem.what());
        }
    }
    if (inside) {
        throw located(filename, open.begin_line,
                      "BEGIN SOLUTION " + open.task_id + " has no END SOLUTION");
    }
    return regions;
}

std::string stub_line(const std::string& task_id, const std::string& lesson_dir) {
    return "ddpm::not_implemented(\"" + task_id + "\", \"" + lesson_dir + "/README.md\");";
}

namespace {

// The text with the given regions (found in it by find_regions) replaced by their stubs.
std::string replace_regions(const std::string& text, const std::vector<Region>& regions,
                            const std::string& filename, const LessonDirForId& lesson_dir_for_id) {
    std::vector<std::string> lines = split_keeping_endings(text);
    std::string result;
    size_t next_line = 0;  // index of the first line not yet written
    for (const Region& region : regions) {
        for (; next_line + 1 < static_cast<size_t>(region.begin_line); next_line++) {
            result += lines[next_line];
        }
        std::string lesson_dir;
        try {
            lesson_dir = lesson_dir_for_id(region.task_id);
        } catch (const std::runtime_error& problem) {
            throw located(filename, region.begin_line, problem.what());
        }
        // The two marker lines stay as they are, so that the student sees where to write and the
        // grader (splice.h) can take the answer back out; the stub takes the opening's ending.
        const std::string& begin = lines[region.begin_line - 1];
        result += begin + region.indent + stub_line(region.task_id, lesson_dir) + line_ending(begin) +
                  lines[region.end_line - 1];
        next_line = static_cast<size_t>(region.end_line);
    }
    for (; next_line < lines.size(); next_line++) result += lines[next_line];
    return result;
}

}  // namespace

std::string studentize_text(const std::string& text, const std::string& filename,
                            const LessonDirForId& lesson_dir_for_id) {
    return replace_regions(text, find_regions(text, filename), filename, lesson_dir_for_id);
}

std::string stub_task_text(const std::string& text, const std::string& filename, const std::string& task_id,
                           const LessonDirForId& lesson_dir_for_id, int* replaced) {
    std::vector<Region> regions = find_regions(text, filename);
    regions.erase(std::remove_if(regions.begin(), regions.end(),
                                 [&](const Region& region) { return region.task_id != task_id; }),
                  regions.end());
    *replaced = static_cast<int>(regions.size());
    return replace_regions(text, regions, filename, lesson_dir_for_id);
}

std::string mutate_task_text(const std::string& text, const std::string& filename, const std::string& task_id,
                             const std::string& search, const std::string& replacement) {
    if (search.empty()) throw std::runtime_error(filename + ": an empty search string");
    std::vector<std::string> lines = split_keeping_endings(text);
    std::vector<size_t> starts(1, 0);  // byte offset of each line
    for (const std::string& line : lines) starts.push_back(starts.back() + line.size());
    std::vector<size_t> found;
    for (const Region& region : find_regions(text, filename)) {
        if (region.task_id != task_id) continue;
        // the body: from the line after the opening marker to the closing marker's line
        const size_t begin = starts[size_t(region.begin_line)], end = starts[size_t(region.end_line - 1)];
        for (size_t at = text.find(search, begin); at != std::string::npos && at + search.size() <= end;
             at = text.find(search, at + 1))
            found.push_back(at);
    }
    if (found.size() != 1) {
        throw std::runtime_error(filename + ": '" + search + "' occurs " + std::to_string(found.size()) +
                                 " times in the regions of " + task_id + " (it must occur once)");
    }
    return text.substr(0, found[0]) + replacement + text.substr(found[0] + search.size());
}

// ---------------------------------------------------------------------------------------------
// Lessons and task order
// ---------------------------------------------------------------------------------------------
std::string find_lesson_dir(const fs::path& src_root, const std::string& task_id) {
    std::string number = task_id.substr(1, 2);
    std::vector<std::string> matches;
    std::error_code error;
    for (const fs::directory_entry& entry : fs::directory_iterator(src_root / "lessons", error)) {
        std::string name = entry.path().filename().string();
        if (entry.is_directory() && name.compare(0, 3, number + "_") == 0) matches.push_back(name);
    }
    if (error) throw std::runtime_error("cannot list " + (src_root / "lessons").string());
    if (matches.empty()) {
        throw std::runtime_error("task " + task_id + ": there is no lesson directory lessons/" +
                                 number + "_*");
    }
    if (matches.size() > 1) {
        std::sort(matches.begin(), matches.end());
        throw std::runtime_error("task " + task_id + ": several lesson directories match lessons/" +
                                 number + "_*: " + matches[0] + ", " + matches[1]);
    }
    return "lessons/" + matches[0];
}

namespace {

// L00.2 before L00.10 before L01.1: the lesson as text (two digits), then the task as a number.
bool task_before(const std::string& a, const std::string& b) {
    std::string lesson_a = a.substr(0, 4), lesson_b = b.substr(0, 4);
    if (lesson_a != lesson_b) return lesson_a < lesson_b;
    std::string task_a = a.substr(4), task_b = b.substr(4);
    if (task_a.size() != task_b.size()) return task_a.size() < task_b.size();
    return task_a < task_b;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Where the tree may go
// ---------------------------------------------------------------------------------------------
namespace {

// What the student tree holds: the parts of the reference tree a student builds from.
const char* const kCopiedEntries[] = {"lessons", "src", "data", "tests", "docs", "Makefile", "README.md"};

// What stays behind although it lies in a copied directory, because it holds the answers: the
// PyTorch twins of tests/bench/ and the package src/torch/ (the schedules, the DDPM step, both U-Net
// blocks, the training loop), and make check-tasks' mutations (pieces of the reference code). The CI
// script (.ci/) is not copied.
bool holds_answers(const fs::path& relative) {
    const std::string path = relative.generic_string();
    if (path == "tests/mutations.txt") return true;
    if (path == "src/torch" || path.compare(0, 10, "src/torch/") == 0) return true;
    return relative.parent_path().generic_string() == "tests/bench" && relative.extension() == ".py";
}

// The student's .gitignore: what the builds, the lessons and make data write.
const char* const kStudentGitignore = "/build/\n/out/\n/data/mnist/\n*.tmp\n";

const char* const kMarkerFile = "STUDENT_TREE";

// An absolute path with "..", "." and symlinks resolved as far as it exists, and no trailing '/'.
fs::path resolved(const fs::path& path) {
    fs::path full = fs::weakly_canonical(fs::absolute(path));
    return full.has_filename() ? full : full.parent_path();
}

// True when `path` is `root` or lies below it (both resolved).
bool is_within(const fs::path& path, const fs::path& root) {
    auto p = path.begin();
    for (auto r = root.begin(); r != root.end(); ++r, ++p) {
        if (p == path.end() || *p != *r) return false;
    }
    return true;
}

// A directory we may delete: it does not exist, is empty, or was written by make_student_tree.
bool may_replace(const fs::path& dir) {
    if (!fs::exists(dir)) return true;
    if (!fs::is_directory(dir)) return false;
    return fs::is_empty(dir) || fs::exists(dir / kMarkerFile);
}

void check_destination(const fs::path& src, const fs::path& dst, const std::string& dst_name) {
    if (dst == src) throw std::runtime_error(dst_name + ": destination is the source root itself");
    if (is_within(src, dst)) {
        throw std::runtime_error(dst_name +
                                 ": destination contains the source root; refusing to delete it");
    }
    for (const char* entry : kCopiedEntries) {
        if (!is_within(dst, src / entry)) continue;
        std::string where = dst == src / entry ? std::string("is ") + entry
                                               : std::string("lies inside ") + entry + "/";
        throw std::runtime_error(dst_name + ": destination " + where +
                                 ", which is itself copied (use e.g. build/student)");
    }
    if (!may_replace(dst)) {
        throw std::runtime_error(dst_name + ": exists and has no " + kMarkerFile +
                                 " file, so it was not made by 'lessontool student'; "
                                 "refusing to delete it");
    }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Copying the tree
// ---------------------------------------------------------------------------------------------
namespace {

bool is_source_file(const fs::path& path) {
    std::string ext = path.extension().string();
    return ext == ".cpp" || ext == ".h" || ext == ".hpp";
}

void write_text_file(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.close();
    if (!out) throw std::runtime_error(path.string() + ": cannot write");
}

std::vector<fs::path> sorted_children(const fs::path& dir) {
    std::vector<fs::path> children;
    for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
        children.push_back(entry.path().filename());
    }
    std::sort(children.begin(), children.end());
    return children;
}

// Copies entries of the reference tree (paths relative to its root) into the staging directory.
struct TreeCopier {
    fs::path src_root;       // as the user wrote it, for file names in messages
    fs::path staging;        // where the tree is written
    StudentTree summary;
    std::set<std::string> tasks;

    void copy_entry(const fs::path& relative) {
        if (holds_answers(relative)) return;
        fs::path from = src_root / relative, to = staging / relative;
        if (fs::is_symlink(fs::symlink_status(from)) && fs::is_directory(from)) {
            // Typically a link to a data set: keep the link rather than copy the data.
            fs::copy_symlink(from, to);
        } else if (fs::is_directory(from)) {
            copy_directory(relative);
        } else if (fs::is_regular_file(from)) {
            copy_file(relative);
        }
        // Anything else (a broken link, a socket) is not part of the course.
    }

    void copy_directory(const fs::path& relative) {
        fs::create_directory(staging / relative);
        for (const fs::path& name : sorted_children(src_root / relative)) {
            // Editor, cache and VCS directories (.git, .vscode, .cache) stay behind.
            bool hidden = name.string()[0] == '.';
            if (hidden && fs::is_directory(src_root / relative / name)) continue;
            copy_entry(relative / name);
        }
    }

    void copy_file(const fs::path& relative) {
        fs::path from = src_root / relative, to = staging / relative;
        if (!is_source_file(from)) {
            fs::copy_file(from, to);
            return;
        }
        std::string name = (src_root / relative).lexically_normal().string();
        std::string text = read_text_file(from);
        std::vector<Region> regions = find_regions(text, name);
        if (regions.empty()) {
            fs::copy_file(from, to);
            return;
        }
        LessonDirForId lesson_dir = [this](const std::string& task_id) {
            return find_lesson_dir(src_root, task_id);
        };
        write_text_file(to, replace_regions(text, regions, name, lesson_dir));
        fs::permissions(to, fs::status(from).permissions());
        summary.regions += static_cast<int>(regions.size());
        summary.files++;
        for (const Region& region : regions) tasks.insert(region.task_id);
    }
};

// The marker says, to the student who finds it, what the tree is; its presence also lets
// make_student_tree replace the folder later (and nothing else).
void write_marker_file(const fs::path& dir, const fs::path&) {
    write_text_file(dir / kMarkerFile,
                    "This is the student tree of ddpm.cpp: the solution of every graded task is replaced by\n"
                    "a stub, ddpm::not_implemented(\"L01.1\", ...), for you to fill in. README.md says how\n"
                    "to start and how to check one task (make test T=L01.1).\n"
                    "\n"
                    "This file marks the folder as generated: making the student tree again at the same place\n"
                    "replaces the folder, so work in a copy of it (cp -r build/student ~/ddpm).\n");
}

// The student's README.md and what stays behind: the reference tree keeps the student's README at
// kStudentReadme; when it exists it becomes the tree's README.md, and the instructor's README.md
// and docs/instructors.md stay out.
// GitHub Classroom's workflow (one step per task) goes to .github/workflows/ when it exists.
const char* const kStudentReadme = "docs/student/README.md";
const char* const kClassroomWorkflow = "docs/student/classroom.yml";

void apply_student_readme(const fs::path& src_root, const fs::path& staging) {
    if (!fs::is_regular_file(src_root / kStudentReadme)) return;
    fs::remove_all(staging / "docs/student");
    fs::remove(staging / "docs/instructors.md");
    write_text_file(staging / "README.md", read_text_file(src_root / kStudentReadme));
    if (fs::is_regular_file(src_root / kClassroomWorkflow)) {
        fs::create_directories(staging / ".github/workflows");
        write_text_file(staging / ".github/workflows/classroom.yml", read_text_file(src_root / kClassroomWorkflow));
    }
}

// Deletes a staging directory left by an interrupted run, if it is one of ours.
void remove_stale(const fs::path& staging) {
    if (!fs::exists(staging)) return;
    if (!may_replace(staging)) {
        throw std::runtime_error(staging.string() + ": exists and was not made by "
                                 "'lessontool student'; move it away");
    }
    fs::remove_all(staging);
}

}  // namespace

StudentTree make_student_tree(const fs::path& src_root, const fs::path& dst_dir) {
    if (!fs::is_directory(src_root / "lessons")) {
        throw std::runtime_error(src_root.string() +
                                 ": not a ddpm.cpp source root (it has no lessons/ directory)");
    }
    // A student tree's regions hold stubs (or the student's answers): studentizing it again would
    // publish those as the reference.
    if (fs::exists(src_root / kMarkerFile)) {
        throw std::runtime_error((src_root / kMarkerFile).string() +
                                 ": this is a student tree; make the student tree from the reference tree");
    }
    fs::path src = resolved(src_root), dst = resolved(dst_dir);
    check_destination(src, dst, dst_dir.string());

    fs::path staging = dst.parent_path() / (dst.filename().string() + ".partial");
    remove_stale(staging);
    fs::create_directories(staging);
    // The marker goes in first, so that a staging directory left by a crash can be cleaned.
    write_marker_file(staging, src);

    TreeCopier copier{src_root, staging, {}, {}};
    try {
        for (const char* entry : kCopiedEntries) {
            if (fs::exists(src_root / entry)) copier.copy_entry(entry);
        }
        apply_student_readme(src_root, staging);
        write_text_file(staging / ".gitignore", kStudentGitignore);
    } catch (...) {
        std::error_code ignored;
        fs::remove_all(staging, ignored);
        throw;
    }

    fs::remove_all(dst);
    fs::rename(staging, dst);
    copier.summary.tasks.assign(copier.tasks.begin(), copier.tasks.end());
    std::sort(copier.summary.tasks.begin(), copier.summary.tasks.end(), task_before);
    return copier.summary;
}

namespace {

// "1 region", "12 regions".
std::string count_of(int n, const std::string& noun) {
    return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

}  // namespace

std::string student_tree_summary(const StudentTree& tree, const std::string& dst_name) {
    std::string summary = "student tree: " + dst_name + " (" + count_of(tree.regions, "region") +
                          " in " + count_of(tree.files, "file") + ", ";
    if (tree.tasks.empty()) return summary + "no tasks)";
    summary += "tasks";
    for (const std::string& task : tree.tasks) summary += " " + task;
    return summary + ")";
}

}  // namespace ddpm::tools
