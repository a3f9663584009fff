#include "tools/results_page.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <map>
#include <stdexcept>
#include <system_error>

#include "tools/grades.h"
#include "tools/tabdiff.h"

namespace fs = std::filesystem;

namespace ddpm::tools {

namespace {

const int kMaxTableRows = 40;

std::string escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            default: out += c;
        }
    }
    return out;
}

// A relative path as a URL: each part percent-encoded where it is not a plain character.
std::string url(const fs::path& relative) {
    std::string out;
    for (const char c : relative.generic_string()) {
        const unsigned char u = (unsigned char)c;
        if (std::isalnum(u) || c == '/' || c == '.' || c == '_' || c == '-') out += c;
        else {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02X", u);
            out += buf;
        }
    }
    return out;
}

std::vector<fs::path> files_with(const fs::path& dir, const std::string& ext) {
    std::vector<fs::path> out;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return out;
    for (const fs::directory_entry& e : fs::directory_iterator(dir))
        if (e.is_regular_file() && e.path().extension() == ext) out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

std::string first_heading(const fs::path& readme, const std::string& fallback) {
    std::ifstream in(readme);
    std::string line;
    while (std::getline(in, line))
        if (line.compare(0, 2, "# ") == 0) return line.substr(2);
    return fallback;
}

struct TableStatus {
    std::string status;  // match, differs, missing
    std::string detail;
};

std::map<std::string, TableStatus> read_diff_status(const fs::path& file) {
    std::map<std::string, TableStatus> out;
    std::error_code ec;
    if (!fs::is_regular_file(file, ec)) return out;
    for (const std::string& line : split_lines(read_text_file(file))) {
        const std::vector<std::string> f = split_fields(line);
        if (f.size() >= 2) out[f[0]] = TableStatus{f[1], f.size() >= 3 && f[2] != "-" ? f[2] : ""};
    }
    return out;
}

std::string badge(const std::string& kind, const std::string& text, const std::string& title = "") {
    return "<span class=\"badge " + kind + "\"" + (title.empty() ? "" : " title=\"" + escape(title) + "\"") + ">" +
           escape(text) + "</span>";
}

// One table of a lesson: its name, its comparison with expected/, its first rows.
std::string table_html(const fs::path& tsv, const std::map<std::string, TableStatus>& status, bool status_known,
                       bool has_expected, const fs::path& out_dir) {
    const std::string name = tsv.filename().string();
    std::string mark;
    const auto it = status.find(name);
    if (!has_expected) mark = badge("none", "no expected/ table");
    else if (!status_known) mark = badge("none", "not compared (make diff)");
    else if (it == status.end()) mark = badge("none", "no expected/ table");
    else if (it->second.status == "match") mark = badge("ok", "matches expected/");
    else mark = badge("bad", it->second.status == "missing" ? "missing" : "differs from expected/", it->second.detail);
    std::string html = "<div class=\"table\"><h4><a href=\"" + url(tsv.lexically_relative(out_dir)) + "\">" +
                       escape(name) + "</a> " + mark + "</h4>\n";
    if (it != status.end() && !it->second.detail.empty())
        html += "<p class=\"detail\">" + escape(it->second.detail) + "</p>\n";
    const std::vector<std::string> lines = split_lines(read_text_file(tsv));
    if (lines.empty()) return html + "<p class=\"note\">(empty)</p></div>\n";
    bool header = true;
    for (const std::string& f : split_fields(lines[0])) {
        double v;
        if (parse_number(f, &v)) header = false;
    }
    html += "<div class=\"scroll\"><table>\n";
    size_t first = 0;
    if (header) {
        html += "<thead><tr>";
        for (const std::string& f : split_fields(lines[0])) html += "<th>" + escape(f) + "</th>";
        html += "</tr></thead>\n";
        first = 1;
    }
    html += "<tbody>\n";
    const size_t last = std::min(lines.size(), first + size_t(kMaxTableRows));
    for (size_t i = first; i < last; ++i) {
        html += "<tr>";
        for (const std::string& f : split_fields(lines[i])) {
            double v;
            html += parse_number(f, &v) ? "<td class=\"num\">" : "<td>";
            html += escape(f) + "</td>";
        }
        html += "</tr>\n";
    }
    html += "</tbody></table></div>\n";
    if (lines.size() > last)
        html += "<p class=\"note\">" + std::to_string(lines.size() - last) + " more rows in the file</p>\n";
    return html + "</div>\n";
}

const char* kStyle = R"(
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; color: #222; background: #fafaf7; margin: 0; }
main { max-width: 1150px; margin: 0 auto; padding: 1.5em 2em 4em; }
h1 { font-size: 1.8em; margin: 0.2em 0; }
h2 { border-top: 3px solid #3b6ea5; padding-top: 0.6em; margin-top: 2.2em; }
h3 { font-size: 1.05em; color: #3b6ea5; margin: 1.4em 0 0.4em; }
h4 { font-size: 0.95em; margin: 1em 0 0.3em; font-family: "DejaVu Sans Mono", monospace; }
a { color: #2a5a8a; }
p.lead { color: #555; }
p.note, p.detail { color: #666; font-size: 0.85em; margin: 0.2em 0; }
p.detail { font-family: "DejaVu Sans Mono", monospace; color: #9a2a2a; }
nav table, table.summary { margin: 1em 0; }
table { border-collapse: collapse; font-size: 0.8em; background: #fff; }
th, td { border: 1px solid #d6d6d0; padding: 0.2em 0.6em; text-align: left; white-space: nowrap; }
th { background: #eef2f7; }
td.num { text-align: right; font-family: "DejaVu Sans Mono", monospace; }
div.scroll { overflow-x: auto; max-width: 100%; }
div.figures { display: flex; flex-wrap: wrap; gap: 1em; }
figure { margin: 0; background: #fff; border: 1px solid #d6d6d0; padding: 0.5em; max-width: 100%; }
figure img { display: block; max-width: 100%; max-height: 520px; height: auto; }
figcaption { font-size: 0.8em; color: #555; font-family: "DejaVu Sans Mono", monospace; margin-top: 0.3em; }
.badge { display: inline-block; font-family: "DejaVu Sans", sans-serif; font-size: 0.75em; font-weight: normal;
         padding: 0.05em 0.5em; border-radius: 0.8em; margin-left: 0.4em; vertical-align: middle; }
.badge.ok { background: #d8f0d8; color: #1d5e1d; border: 1px solid #8cc98c; }
.badge.bad { background: #f7d6d6; color: #8a1f1f; border: 1px solid #d88; }
.badge.none { background: #eee; color: #666; border: 1px solid #ccc; }
)";

// 2, 0.5, 12.5: points as a person writes them
std::string fmt_points(double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%g", v);
    return b;
}

}  // namespace

std::string diff_status_text(const fs::path& out_dir, const fs::path& expected_dir, double rtol, double atol) {
    DiffOptions options;
    options.rtol = rtol;
    options.atol = atol;
    std::string text;
    for (const fs::path& expected : files_with(expected_dir, ".tsv")) {
        const fs::path got = out_dir / expected.filename();
        std::error_code ec;
        std::string status = "match", detail = "-";
        if (!fs::is_regular_file(got, ec)) {
            status = "missing";
            detail = got.string() + ": missing (the lesson did not write it)";
        } else {
            const std::vector<std::string> reports =
                diff_tsv_text(read_text_file(expected), read_text_file(got), got.string(), options);
            if (!reports.empty()) {
                status = "differs";
                detail = reports[0];
            }
        }
        for (char& c : detail)
            if (c == '\t' || c == '\n' || c == '\r') c = ' ';
        text += expected.filename().string() + "\t" + status + "\t" + detail + "\n";
    }
    return text;
}

std::string results_page_html(const fs::path& root, const fs::path& out_dir, const fs::path& grades_file) {
    std::vector<fs::path> lessons;
    std::error_code ec;
    if (!fs::is_directory(root / "lessons", ec)) throw std::runtime_error((root / "lessons").string() + ": not a directory");
    for (const fs::directory_entry& e : fs::directory_iterator(root / "lessons")) {
        const std::string n = e.path().filename().string();
        if (e.is_directory() && n.size() > 3 && std::isdigit((unsigned char)n[0]) && std::isdigit((unsigned char)n[1]) && n[2] == '_')
            lessons.push_back(e.path());
    }
    std::sort(lessons.begin(), lessons.end());

    std::vector<GradeRow> grades;
    const bool have_grades = !grades_file.empty() && fs::is_regular_file(grades_file, ec);
    if (have_grades) grades = parse_grades(read_text_file(grades_file), grades_file.string());
    const fs::path out_abs = fs::absolute(out_dir).lexically_normal();

    std::string summary, body;
    for (const fs::path& lesson : lessons) {
        const std::string id = lesson.filename().string();
        const std::string nn = id.substr(0, 2);
        const fs::path readme = lesson / "README.md";
        const std::string title = first_heading(readme, id);
        const fs::path dir = out_dir / id;
        const bool ran = fs::is_directory(dir, ec);
        const std::vector<fs::path> figures = files_with(dir, ".png"), tables = files_with(dir, ".tsv");
        const bool has_expected = fs::is_directory(lesson / "expected", ec);
        const fs::path status_file = dir / "diff.status";
        bool status_known = fs::is_regular_file(status_file, ec);
        if (status_known)
            for (const fs::path& t : tables)
                if (fs::last_write_time(t) > fs::last_write_time(status_file)) status_known = false;
        const std::map<std::string, TableStatus> status = status_known ? read_diff_status(status_file) : std::map<std::string, TableStatus>{};
        std::string seconds;
        if (fs::is_regular_file(dir / "run_seconds", ec)) {
            seconds = split_lines(read_text_file(dir / "run_seconds")).empty() ? "" : split_lines(read_text_file(dir / "run_seconds"))[0];
            double v;
            if (!parse_number(seconds, &v)) seconds.clear();
        }
        int matched = 0, differing = 0, missing = 0;
        for (const auto& kv : status) (kv.second.status == "match" ? matched : kv.second.status == "missing" ? missing : differing)++;
        std::vector<const GradeRow*> tasks;
        for (const GradeRow& g : grades)
            if (g.task.size() > 3 && g.task.compare(0, 4, "L" + nn + ".") == 0) tasks.push_back(&g);
        int tasks_ok = 0;
        double earned = 0, points = 0;  // from the grade table's earned column (a task's points when all its checks pass)
        for (const GradeRow* g : tasks) {
            const bool ok = g->tests > 0 && g->passed == g->tests;
            tasks_ok += ok;
            double p = 0, e = 0;
            if (parse_number(g->points, &p)) points += p;
            if (!g->earned.empty() && parse_number(g->earned, &e)) earned += e;
            else if (ok) earned += p;
        }

        // the summary row
        const fs::path readme_rel = fs::absolute(readme).lexically_normal().lexically_relative(out_abs);
        summary += "<tr><td><a href=\"#lesson-" + escape(id) + "\">" + escape(title) + "</a></td>";
        summary += "<td class=\"num\">" + (ran ? std::to_string(figures.size()) : "-") + "</td>";
        summary += "<td class=\"num\">" + (ran ? std::to_string(tables.size()) : "-") + "</td><td>";
        const int compared = matched + differing + missing;
        if (!has_expected) summary += badge("none", "no expected/");
        else if (!ran) summary += badge("none", "not run");
        else if (!status_known) summary += badge("none", "not compared");
        else if (differing == 0 && missing == 0) summary += badge("ok", std::to_string(matched) + " match");
        else if (differing == 0) summary += badge("bad", std::to_string(missing) + " of " + std::to_string(compared) + " missing");
        else summary += badge("bad", std::to_string(differing + missing) + " of " + std::to_string(compared) + " differ" +
                                         (missing ? " or missing" : ""));
        summary += "</td><td>";
        if (tasks.empty()) summary += have_grades ? "-" : badge("none", "no grades");
        else summary += badge(tasks_ok == int(tasks.size()) ? "ok" : "bad", fmt_points(earned) + " of " + fmt_points(points) +
                                                                              " points");
        summary += "</td><td class=\"num\">" + (seconds.empty() ? std::string("-") : escape(seconds) + " s") + "</td></tr>\n";

        // the lesson's section
        body += "<section id=\"lesson-" + escape(id) + "\">\n<h2>" + escape(title) + "</h2>\n<p class=\"lead\">";
        body += (fs::is_regular_file(readme, ec) ? "<a href=\"" + url(readme_rel) + "\">README</a>" : std::string("no README yet")) +
                " &middot; output in <a href=\"" + url(fs::path(id)) + "/\">" +
                escape(id) + "/</a>";
        if (!seconds.empty()) body += " &middot; ran in " + escape(seconds) + " s";
        body += "</p>\n";
        if (!ran) body += "<p class=\"note\">Not run yet: <code>make lesson L=" + escape(nn) + "</code> writes its results.</p>\n";
        if (!figures.empty()) {
            body += "<h3>Figures</h3>\n<div class=\"figures\">\n";
            for (const fs::path& f : figures) {
                const std::string rel = url(f.lexically_relative(out_dir));
                body += "<figure><a href=\"" + rel + "\"><img src=\"" + rel + "\" alt=\"" + escape(f.filename().string()) +
                        "\"></a><figcaption>" + escape(f.filename().string()) + "</figcaption></figure>\n";
            }
            body += "</div>\n";
        }
        if (!tables.empty()) {
            body += "<h3>Tables</h3>\n";
            for (const fs::path& t : tables) body += table_html(t, status, status_known, has_expected, out_dir);
        }
        if (!tasks.empty()) {
            body += "<h3>Graded tasks</h3>\n<table><thead><tr><th>task</th><th>title</th><th>points</th><th>checks passed</th><th></th></tr></thead><tbody>\n";
            for (const GradeRow* g : tasks) {
                const bool ok = g->tests > 0 && g->passed == g->tests;
                const std::string got = !g->earned.empty() ? g->earned : ok ? g->points : "0";
                body += "<tr><td>" + escape(g->task) + "</td><td>" + escape(g->title) + "</td><td class=\"num\">" +
                        escape(got) + " / " + escape(g->points) + "</td><td class=\"num\">" + std::to_string(g->passed) +
                        " / " + std::to_string(g->tests) + "</td><td>" + badge(ok ? "ok" : "bad", ok ? "pass" : "fail") +
                        "</td></tr>\n";
            }
            body += "</tbody></table>\n";
        }
        body += "</section>\n";
    }

    std::string html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                       "<title>ddpm.cpp: the lessons' results</title>\n<style>" +
                       std::string(kStyle) + "</style>\n</head>\n<body>\n<main>\n";
    html += "<h1>ddpm.cpp: the lessons' results</h1>\n";
    html += "<p class=\"lead\">Every lesson in order, with the figures and tables of its last run in this folder. "
            "A table is marked when <code>make</code> or <code>make diff</code> has compared it with the lesson's "
            "<code>expected/</code> copy since it was written; graded tasks and their points come from ";
    html += have_grades ? "<code>" + escape(grades_file.filename().string()) + "</code> of the last <code>make test</code>."
                        : "<code>make test</code>, which has not written its grade table yet.";
    html += "</p>\n<nav><table class=\"summary\"><thead><tr><th>lesson</th><th>figures</th><th>tables</th>"
            "<th>expected/</th><th>graded tasks</th><th>time</th></tr></thead><tbody>\n" +
            summary + "</tbody></table></nav>\n" + body + "</main>\n</body>\n</html>\n";
    return html;
}

void write_text_atomic(const fs::path& path, const std::string& text) {
    const fs::path tmp = path.string() + ".tmp-" + std::to_string(getpid());
    {
        std::ofstream out(tmp, std::ios::binary);
        out << text;
        out.flush();
        if (!out) {
            std::error_code ec;
            fs::remove(tmp, ec);
            throw std::runtime_error(path.string() + ": cannot write");
        }
    }
    fs::rename(tmp, path);
}

fs::path write_results_page(const fs::path& root, const fs::path& out_dir, const fs::path& grades_file) {
    fs::create_directories(out_dir);
    const fs::path page = out_dir / "index.html";
    write_text_atomic(page, results_page_html(root, out_dir, grades_file));
    return page;
}

}  // namespace ddpm::tools
