// The results page (src/tools/results_page.h, `lessontool results`, written by `make`): on a small
// lesson tree made here, the page holds every lesson in order, its figures, tables with their
// comparison, time and graded tasks; every image it references exists and decodes (stb_image); no
// script and nothing from the network; and headless Chromium renders it to a screenshot that is not
// blank and shows the figure's colours. The second case does the same for out/index.html of the last
// `make`, where there is one (CI runs it after the lessons). Without chromium the browser part says
// "skipped: no chromium". Copies of the screenshots are left in build/screenshots/.
#include <doctest/doctest.h>

#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "helpers.h"
#include "tools/results_page.h"
#include "tools/tabdiff.h"

namespace fs = std::filesystem;
using testing_helpers::TempDir;

namespace {

void write(const fs::path& path, const std::string& text) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
}

std::string read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// The value of every attribute `attr`="..." in the page, %XX decoded.
std::vector<std::string> attributes(const std::string& html, const std::string& attr) {
    std::vector<std::string> out;
    const std::string key = " " + attr + "=\"";
    for (size_t at = html.find(key); at != std::string::npos; at = html.find(key, at + 1)) {
        const size_t begin = at + key.size(), end = html.find('"', begin);
        std::string v, raw = html.substr(begin, end - begin);
        for (size_t i = 0; i < raw.size(); ++i) {
            if (raw[i] == '%' && i + 2 < raw.size()) {
                v += char(std::strtol(raw.substr(i + 1, 2).c_str(), nullptr, 16));
                i += 2;
            } else v += raw[i];
        }
        out.push_back(v);
    }
    return out;
}

// Every image of the page exists beside it and decodes; nothing is fetched from elsewhere.
int check_images_and_links(const fs::path& page) {
    const std::string html = read(page);
    CHECK(html.find("<script") == std::string::npos);
    for (const char* attr : {"src", "href"})
        for (const std::string& v : attributes(html, attr)) {
            INFO(attr << "=" << v);
            CHECK(v.find("://") == std::string::npos);
            CHECK(v.compare(0, 2, "//") != 0);
        }
    int images = 0;
    for (const std::string& src : attributes(html, "src")) {
        const fs::path file = page.parent_path() / src;
        INFO("image " << file.string());
        REQUIRE(fs::is_regular_file(file));
        int w = 0, h = 0, n = 0;
        unsigned char* pixels = stbi_load(file.c_str(), &w, &h, &n, 3);
        CHECK(pixels != nullptr);
        CHECK(w > 0);
        CHECK(h > 0);
        stbi_image_free(pixels);
        ++images;
    }
    return images;
}

std::string chromium_binary() {
    for (const char* name : {"chromium", "chromium-browser"}) {
        const std::string probe = std::string("command -v ") + name + " >/dev/null 2>&1";
        if (std::system(probe.c_str()) == 0) return name;
    }
    return "";
}

struct Screenshot {
    int w = 0, h = 0;
    std::vector<unsigned char> rgb;
    bool has_colour_near(int r, int g, int b, int tolerance, int at_least) const {
        int count = 0;
        for (size_t i = 0; i + 2 < rgb.size(); i += 3)
            count += std::abs(rgb[i] - r) <= tolerance && std::abs(rgb[i + 1] - g) <= tolerance &&
                     std::abs(rgb[i + 2] - b) <= tolerance;
        return count >= at_least;
    }
};

// The page in headless Chromium, as a PNG of width x height; false when there is no chromium.
// A copy of the screenshot stays in build/screenshots/<keep>.png, to look at.
bool screenshot(const fs::path& page, const TempDir& tmp, int width, int height, Screenshot& shot, const std::string& keep) {
    const std::string chromium = chromium_binary();
    if (chromium.empty()) {
        MESSAGE("skipped: no chromium (Debian: apt-get install chromium); the page was checked without a browser");
        return false;
    }
    const std::string png = tmp / "screenshot.png";
    const std::string cmd = "timeout 120 " + chromium + " --headless --no-sandbox --disable-gpu --hide-scrollbars" +
                            " --user-data-dir=" + tmp / "chromium-profile" + " --screenshot=" + png +
                            " --window-size=" + std::to_string(width) + "," + std::to_string(height) + " 'file://" +
                            fs::absolute(page).string() + "' > " + tmp / "chromium.log" + " 2>&1";
    const int status = std::system(cmd.c_str());
    REQUIRE_MESSAGE(status == 0, cmd << "\n" << read(tmp / "chromium.log"));
    std::error_code ec;
    if (fs::is_directory("build", ec)) {
        fs::create_directories("build/screenshots", ec);
        fs::copy_file(png, "build/screenshots/" + keep + ".png", fs::copy_options::overwrite_existing, ec);
    }
    int w = 0, h = 0, n = 0;
    unsigned char* pixels = stbi_load(png.c_str(), &w, &h, &n, 3);
    REQUIRE(pixels != nullptr);
    shot.w = w;
    shot.h = h;
    shot.rgb.assign(pixels, pixels + size_t(w) * size_t(h) * 3);
    stbi_image_free(pixels);
    CHECK(w == width);
    CHECK(h == height);
    // not blank: many pixels unlike the background (the top-left one), and many colours
    std::set<int> colours;
    int64_t differing = 0;
    for (size_t i = 0; i + 2 < shot.rgb.size(); i += 3) {
        differing += shot.rgb[i] != shot.rgb[0] || shot.rgb[i + 1] != shot.rgb[1] || shot.rgb[i + 2] != shot.rgb[2];
        colours.insert(shot.rgb[i] << 16 | shot.rgb[i + 1] << 8 | shot.rgb[i + 2]);
    }
    const double share = double(differing) / (double(w) * h);
    MESSAGE("screenshot " << w << "x" << h << ": " << int(share * 1000) / 10.0 << "% of pixels unlike the background, "
                          << colours.size() << " colours");
    CHECK(share > 0.03);
    CHECK(colours.size() > 50);
    return true;
}

}  // namespace

TEST_CASE("results page: a lesson tree's page has every part, its images decode, headless Chromium renders it") {
    TempDir tmp("results_page");
    const fs::path root = tmp.dir, out = tmp.dir / "out";
    write(root / "lessons/00_first/README.md", "intro\n# Lesson 00: first <&>\ntext\n");
    write(root / "lessons/00_first/expected/loss.tsv", "step\tloss\n1\t0.5\n2\t0.25\n");
    write(root / "lessons/00_first/expected/other.tsv", "a\tb\nx\t1\n");
    write(root / "lessons/01_second/README.md", "# Lesson 01: second\n");
    write(root / "lessons/01_second/expected/b.tsv", "x\n1\n");
    write(root / "lessons/02_third/main.cpp", "");  // no README, not run
    write(root / "lessons/03_fourth/README.md", "# Lesson 03: fourth\n");
    write(root / "lessons/03_fourth/expected/c.tsv", "x\n1\n");  // expected/ but never run: "not run", not "differ"
    write(out / "00_first/loss.tsv", "step\tloss\n1\t0.5\n2\t0.25\n");
    write(out / "00_first/other.tsv", "a\tb\nx\t2\n");
    std::string many = "i\tsquare\n";
    for (int i = 0; i < 60; ++i) many += std::to_string(i) + "\t" + std::to_string(i * i) + "\n";
    write(out / "00_first/many.tsv", many);
    write(out / "00_first/run_seconds", "3\n");
    // a figure: a red block on blue, 240 x 160
    std::vector<unsigned char> img(240 * 160 * 3);
    for (int y = 0; y < 160; ++y)
        for (int x = 0; x < 240; ++x) {
            unsigned char* p = &img[size_t(y * 240 + x) * 3];
            const bool red = x > 40 && x < 200 && y > 30 && y < 130;
            p[0] = red ? 220 : 30;
            p[1] = red ? 30 : 60;
            p[2] = red ? 30 : 200;
        }
    fs::create_directories(out / "01_second");
    REQUIRE(stbi_write_png((out / "00_first/fig one.png").c_str(), 240, 160, 3, img.data(), 240 * 3) != 0);
    REQUIRE(stbi_write_png((out / "01_second/b.png").c_str(), 240, 160, 3, img.data(), 240 * 3) != 0);
    ddpm::tools::write_text_atomic(out / "00_first/diff.status",
                                   ddpm::tools::diff_status_text(out / "00_first", root / "lessons/00_first/expected", 1e-4, 1e-6));
    write(root / "grades.tsv", "task\tpoints\ttests\tpassed\ttitle\tblocked_by\nL00.1\t2\t3\t3\tthe first task\t-\n"
                               "L00.2\t1\t2\t1\tthe second task\t-\nL01.1\t1\t1\t1\tanother\t-\n");

    const fs::path page = ddpm::tools::write_results_page(root, out, root / "grades.tsv");
    CHECK(page == out / "index.html");
    const std::string html = read(page);
    // in order, titles escaped, README linked relative to the page
    const size_t first = html.find("<h2>Lesson 00: first &lt;&amp;&gt;</h2>"), second = html.find("<h2>Lesson 01: second</h2>"),
                 third = html.find("<h2>02_third</h2>");
    CHECK(first != std::string::npos);
    CHECK(second > first);
    CHECK(third > second);
    CHECK(html.find("href=\"../lessons/00_first/README.md\"") != std::string::npos);
    CHECK(html.find("no README yet") > third);
    CHECK(html.find("Not run yet") > third);
    // tables, comparison and its detail, the cut, time, grades
    CHECK(html.find("<th>step</th><th>loss</th>") != std::string::npos);
    CHECK(html.find("<td class=\"num\">0.25</td>") != std::string::npos);
    CHECK(html.find("matches expected/") != std::string::npos);
    CHECK(html.find("differs from expected/") != std::string::npos);
    CHECK(html.find("other.tsv:2: column 2 (b)") != std::string::npos);
    CHECK(html.find("20 more rows in the file") != std::string::npos);
    CHECK(html.find("ran in 3 s") != std::string::npos);
    CHECK(html.find("1 of 2 differ") != std::string::npos);
    CHECK(html.find("2 of 3 points") != std::string::npos);  // L00.1's 2 earned, L00.2's 1 not
    CHECK(html.find("1 / 2</td>") != std::string::npos);       // L00.2: 1 of its 2 checks
    CHECK(html.find(">not run</span>") != std::string::npos);  // lesson 03
    CHECK(html.find("not compared") != std::string::npos);  // lesson 01: no diff.status
    CHECK(html.find("src=\"00_first/fig%20one.png\"") != std::string::npos);
    CHECK(check_images_and_links(page) == 2);

    // a table newer than the comparison: the mark is dropped
    write(out / "00_first/loss.tsv", "step\tloss\n1\t0.5\n2\t0.3\n");
    fs::last_write_time(out / "00_first/loss.tsv", fs::last_write_time(out / "00_first/diff.status") + std::chrono::seconds(5));
    CHECK(ddpm::tools::results_page_html(root, out, root / "grades.tsv").find("matches expected/") == std::string::npos);
    // the same page without grades says so
    CHECK(ddpm::tools::results_page_html(root, out, "").find("has not written its grade table yet") != std::string::npos);

    Screenshot shot;
    if (screenshot(page, tmp, 1000, 1400, shot, "results_page_fixture")) {
        CHECK(shot.has_colour_near(220, 30, 30, 12, 2000));   // the figure's red block, drawn
        CHECK(shot.has_colour_near(30, 60, 200, 12, 2000));   // and its blue
        CHECK(shot.has_colour_near(216, 240, 216, 6, 100));   // a green "matches" badge
    }
}

TEST_CASE("results page: out/index.html of the last make renders in headless Chromium, its images decode") {
    const fs::path page = "out/index.html";
    if (!fs::is_regular_file(page)) {
        MESSAGE("skipped: no out/index.html (make writes it after the lessons)");
        return;
    }
    const int images = check_images_and_links(page);
    MESSAGE("out/index.html references " << images << " images, all present and decoding");
    CHECK(images > 0);
    TempDir tmp("results_page_out");
    Screenshot shot;
    screenshot(page, tmp, 1200, 3000, shot, "results_page_out");
}
