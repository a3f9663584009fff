// The plot library writes readable PNGs; bad input is refused with one line.
#include <doctest/doctest.h>

#include <filesystem>

#include <stb/stb_image.h>  // its implementation is in store/png.cpp

#include "plot/plot.h"

using namespace ddpm;

TEST_CASE("plot: a two-panel figure is written atomically with the expected size") {
    const std::string dir = (std::filesystem::temp_directory_path() / "ddpm_plot_test").string();
    std::filesystem::remove_all(dir);
    plot::Figure fig(1, 2, 300, 200);
    fig.suptitle("test");
    fig.at(0, 0).scatter({0.f, 1.f, 2.f}, {1.f, 0.f, 1.f}, plot::colors::red, 3.0f, "points");
    fig.at(0, 1).hist({0.1f, 0.2f, 0.2f, 0.9f}, 4, plot::colors::blue);
    fig.save(dir + "/f.png");
    int files = 0;  // the figure alone: no temporary file left beside it
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        CHECK(entry.path().filename().string() == "f.png");
        ++files;
    }
    CHECK(files == 1);
    int w = 0, h = 0, c = 0;
    unsigned char* px = stbi_load((dir + "/f.png").c_str(), &w, &h, &c, 3);
    REQUIRE(px != nullptr);
    CHECK(w == 600);
    CHECK(h >= 200);
    long non_white = 0;
    for (long i = 0; i < long(w) * h * 3; ++i) non_white += px[i] != 255;
    CHECK(non_white > 1000);  // frames, ticks, text and data were drawn
    stbi_image_free(px);
    std::filesystem::remove_all(dir);
}

TEST_CASE("plot: mismatched series and bad paths are one clear error") {
    plot::Figure fig(1, 1);
    CHECK_THROWS(fig.at(0, 0).line({0.f, 1.f}, {0.f}, plot::colors::black));
    CHECK_THROWS(fig.at(1, 0));
    fig.at(0, 0).line({0.f, 1.f}, {0.f, 1.f}, plot::colors::black);
    CHECK_THROWS(fig.save("/proc/definitely/not/writable.png"));
}

TEST_CASE("plot: a figure saved over a folder is refused and the folder kept") {
    const std::string dir = (std::filesystem::temp_directory_path() / "ddpm_plot_test_folder").string();
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir + "/f.png");
    plot::Figure fig(1, 1);
    fig.at(0, 0).line({0.f, 1.f}, {0.f, 1.f}, plot::colors::black);
    CHECK_THROWS_WITH(fig.save(dir + "/f.png"), doctest::Contains("is a directory"));
    CHECK(std::filesystem::is_directory(dir + "/f.png"));
    std::filesystem::remove_all(dir);
}
