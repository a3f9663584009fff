// splice.cpp: take the solution regions of a submission into a copy of the published tree.
#include "tools/splice.h"

#include <algorithm>
#include <map>
#include <stdexcept>

#include "tools/results_page.h"  // write_text_atomic
#include "tools/studentize.h"
#include "tools/tabdiff.h"  // read_text_file

namespace ddpm::tools {

namespace fs = std::filesystem;

namespace {

// The lines of a text, each with its own ending, so that a file is written back byte for byte.
std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    for (size_t start = 0; start < text.size();) {
        size_t end = text.find('\n', start);
        end = end == std::string::npos ? text.size() : end + 1;
        lines.push_back(text.substr(start, end - start));
        start = end;
    }
    return lines;
}

std::string at(const std::string& filename, int line) { return filename + ":" + std::to_string(line) + ": "; }

// The body of a region: the lines between its markers.
std::vector<std::string> body_of(const std::vector<std::string>& lines, const Region& region) {
    return {lines.begin() + region.begin_line, lines.begin() + region.end_line - 1};
}

// The k-th region of each task, keyed "L01.2#k".
std::map<std::string, Region> by_occurrence(const std::vector<Region>& regions) {
    std::map<std::string, Region> keyed;
    std::map<std::string, int> seen;
    for (const Region& region : regions)
        keyed[region.task_id + "#" + std::to_string(seen[region.task_id]++)] = region;
    return keyed;
}

int count_of(const std::vector<Region>& regions, const std::string& task) {
    return static_cast<int>(std::count_if(regions.begin(), regions.end(),
                                          [&](const Region& r) { return r.task_id == task; }));
}

// The text outside the regions, one entry per line with its line number: what must be as published.
std::vector<std::pair<int, std::string>> outside(const std::vector<std::string>& lines,
                                                 const std::vector<Region>& regions) {
    std::vector<std::pair<int, std::string>> kept;
    size_t next = 0;
    for (int i = 0; i < static_cast<int>(lines.size()); i++) {
        bool inside = next < regions.size() && i + 1 > regions[next].begin_line && i + 1 < regions[next].end_line;
        if (next < regions.size() && i + 1 == regions[next].end_line) next++;
        if (!inside) kept.push_back({i + 1, lines[i]});
    }
    return kept;
}

// Line endings and trailing blanks are not edits worth a note (an editor may change them).
std::string trimmed(const std::string& line) {
    size_t n = line.size();
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t')) n--;
    return line.substr(0, n);
}

// The submitted line number of the first difference between two outside-line lists, or 0.
int first_difference(const std::vector<std::pair<int, std::string>>& published,
                     const std::vector<std::pair<int, std::string>>& submitted) {
    size_t n = std::min(published.size(), submitted.size());
    for (size_t i = 0; i < n; i++)
        if (trimmed(published[i].second) != trimmed(submitted[i].second)) return submitted[i].first;
    if (published.size() == submitted.size()) return 0;
    return submitted.size() > n ? submitted[n].first : (submitted.empty() ? 1 : submitted.back().first + 1);
}

}  // namespace

std::string first_edit(const std::string& published, const std::string& submitted, const std::string& filename) {
    auto numbered = [](const std::string& text) {
        std::vector<std::pair<int, std::string>> lines;
        for (const std::string& line : lines_of(text)) lines.push_back({static_cast<int>(lines.size()) + 1, line});
        return lines;
    };
    int line = first_difference(numbered(published), numbered(submitted));
    return line == 0 ? "" : at(filename, line) + "edited outside the solution regions (ignored)";
}

SplicedFile splice_regions(const std::string& published, const std::string& submitted,
                           const std::string& filename, const std::set<std::string>& keep_stub) {
    std::vector<std::string> pub_lines = lines_of(published), sub_lines = lines_of(submitted);
    std::vector<Region> pub_regions = find_regions(published, filename);
    std::vector<Region> sub_regions;
    SplicedFile result;
    try {
        sub_regions = find_regions(submitted, filename);
    } catch (const std::runtime_error& problem) {
        // The student broke a marker: no answer of this file can be told apart from the rest.
        result.notes.push_back(std::string(problem.what()) + " (no region of this file taken)");
    }
    std::map<std::string, Region> submitted_regions = by_occurrence(sub_regions);
    std::map<std::string, int> seen;
    size_t next_line = 0;
    for (const Region& region : pub_regions) {
        for (; next_line < static_cast<size_t>(region.begin_line); next_line++) result.text += pub_lines[next_line];
        SplicedRegion spliced{region.task_id, 0, 0, false};
        spliced.begin_line = static_cast<int>(lines_of(result.text).size());
        auto found = submitted_regions.find(region.task_id + "#" + std::to_string(seen[region.task_id]++));
        bool same_count = count_of(pub_regions, region.task_id) == count_of(sub_regions, region.task_id);
        std::vector<std::string> body = body_of(pub_lines, region);
        if (found != submitted_regions.end() && same_count && !keep_stub.count(region.task_id)) {
            body = body_of(sub_lines, found->second);
            spliced.taken = true;
        } else if (!sub_regions.empty() && !same_count && seen[region.task_id] == 1) {
            result.notes.push_back(at(filename, region.begin_line) + "task " + region.task_id + " has " +
                                   std::to_string(count_of(sub_regions, region.task_id)) +
                                   " regions in the submission, " +
                                   std::to_string(count_of(pub_regions, region.task_id)) + " published (not taken)");
        }
        for (const std::string& line : body) {
            // A body whose last line has no ending (the file was cut) still ends before the marker.
            result.text += line.empty() || line.back() == '\n' ? line : line + "\n";
        }
        result.text += pub_lines[region.end_line - 1];
        spliced.end_line = static_cast<int>(lines_of(result.text).size());
        result.regions.push_back(spliced);
        next_line = static_cast<size_t>(region.end_line);
    }
    for (; next_line < pub_lines.size(); next_line++) result.text += pub_lines[next_line];

    if (result.notes.empty()) {
        int line = first_difference(outside(pub_lines, pub_regions), outside(sub_lines, sub_regions));
        if (line != 0) result.notes.push_back(at(filename, line) + "edited outside the solution regions (ignored)");
    }
    return result;
}

// ---------------------------------------------------------------------------------------------
// The tree
// ---------------------------------------------------------------------------------------------
namespace {

bool is_source(const fs::path& path) {
    std::string ext = path.extension().string();
    return ext == ".cpp" || ext == ".h" || ext == ".hpp" || path.filename() == "Makefile";
}

// The published files a submission may not change, relative and sorted: sources and the Makefile.
std::vector<fs::path> published_sources(const fs::path& root) {
    std::vector<fs::path> files;
    for (const char* top : {"src", "tests", "lessons"}) {
        if (!fs::is_directory(root / top)) continue;
        for (const fs::directory_entry& entry : fs::recursive_directory_iterator(root / top))
            if (entry.is_regular_file() && is_source(entry.path())) files.push_back(fs::relative(entry.path(), root));
    }
    if (fs::is_regular_file(root / "Makefile")) files.push_back("Makefile");
    std::sort(files.begin(), files.end());
    return files;
}

}  // namespace

SpliceSummary splice_tree(const fs::path& published, const fs::path& submission, const fs::path& tree,
                          const std::set<std::string>& keep_stub) {
    SpliceSummary summary;
    for (const fs::path& relative : published_sources(published)) {
        const std::string name = relative.generic_string();
        const std::string pub_text = read_text_file(published / relative);
        const bool has_submitted = fs::is_regular_file(submission / relative);
        const std::string sub_text = has_submitted ? read_text_file(submission / relative) : pub_text;
        if (!has_submitted) summary.notes.push_back(name + ": missing from the submission");
        if (find_regions(pub_text, name).empty()) {
            std::string edit = first_edit(pub_text, sub_text, name);
            if (!edit.empty()) summary.notes.push_back(edit);
            continue;
        }
        SplicedFile spliced = splice_regions(pub_text, sub_text, name, keep_stub);
        summary.notes.insert(summary.notes.end(), spliced.notes.begin(), spliced.notes.end());
        for (const SplicedRegion& region : spliced.regions) summary.regions.push_back({name, region});
        // an unchanged file keeps its time, so that make does not compile it again
        if (!fs::exists(tree / relative) || read_text_file(tree / relative) != spliced.text) {
            write_text_atomic(tree / relative, spliced.text);
            summary.written.push_back(name);
        }
    }
    return summary;
}

}  // namespace ddpm::tools
