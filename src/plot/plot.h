// plot.h: a small plotting library that writes PNG figures for the lessons.
//
// A Figure is a grid of panels; each panel is an Axes that records what is drawn on it (scatter
// points, polylines, histograms, reference lines, or one grayscale image). Nothing is rasterised
// until Figure::save, because the axis ranges depend on everything drawn.
//
//   ddpm::plot::Figure fig(1, 2);
//   auto& ax = fig.at(0, 0);
//   ax.hist(samples, 60, ddpm::plot::palette(0), true, "samples");
//   ax.line(xs, pdf, ddpm::plot::colors::black, 1.5f, "true density");
//   ax.title("x_0"); ax.xlabel("x"); ax.ylabel("density");
//   fig.save("out/01/hist.png");
//
// Rendering is our own (antialiased discs, lines and bars with alpha blending; text through
// stb_truetype with the DejaVu Sans font) and deterministic: the same calls give the same bytes.
// Bad data never crashes: NaN/Inf points are skipped, empty series give an empty 0..1 panel.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace ddpm::plot {

// ---- colours ----

struct Color {
    uint8_t r, g, b, a = 255;  // a = opacity, 255 is opaque
};

Color rgb(int r, int g, int b, int a = 255);  // clamps each channel to 0..255
Color with_alpha(Color c, int a);             // the same colour with another opacity
Color palette(int i);                         // ten distinct colours for series; cycles
Color viridis(float t);                       // t in [0,1] (clamped): dark purple -> teal -> yellow

namespace colors {
extern const Color red, green, blue, gray, black, orange, purple, white;
}

// ---- what an Axes remembers ----

// Drawing happens only in Figure::save, because the axis ranges depend on everything drawn; until
// then an Axes keeps the series below. The renderer in plot.cpp reads them.
namespace detail {

enum class SeriesKind { points, polyline, bars, hline, vline };

struct Series {
    SeriesKind kind = SeriesKind::points;
    std::vector<float> x, y;          // points; bars: x holds the bins+1 edges, y the bin heights;
                                      // hline: y = {level}; vline: x = {position}
    std::vector<Color> point_colors;  // one colour per point, or empty to use `color`
    Color color{0, 0, 0};
    float size = 1.0f;  // disc radius or line width, in pixels
    bool dashed = false;
    std::string label;  // shown in the legend when not empty
};

struct AxesState {
    std::vector<Series> series;  // in drawing order
    std::vector<float> image;    // (image_h, image_w); not empty makes this an image panel
    int image_h = 0, image_w = 0;
    float image_lo = 0.f, image_hi = 1.f;
    std::string title, xlabel, ylabel;
    bool has_xlim = false, has_ylim = false;
    float xlim_lo = 0.f, xlim_hi = 1.f, ylim_lo = 0.f, ylim_hi = 1.f;
    bool logy = false, equal_aspect = false;
    int legend = -1;  // -1: when any series has a label, 0: never, 1: always
};

}  // namespace detail

// ---- one panel ----

class Axes {
 public:
    // Points as filled discs; radius in pixels. All series must have x.size() == y.size().
    void scatter(const std::vector<float>& x, const std::vector<float>& y, Color c, float radius = 2.0f,
                 const std::string& label = "");
    void scatter(const std::vector<float>& x, const std::vector<float>& y, const std::vector<Color>& per_point,
                 float radius = 2.0f);
    // A polyline through (x[i], y[i]); a NaN/Inf point breaks it in two. Width in pixels.
    void line(const std::vector<float>& x, const std::vector<float>& y, Color c, float width = 1.5f,
              const std::string& label = "");
    // Filled bars over `bins` equal bins of [lo, hi] (NAN = the range of the data). density = true
    // scales the bars so that their area is 1; false shows counts.
    void hist(const std::vector<float>& values, int bins, Color c, bool density = true, const std::string& label = "",
              float lo = NAN, float hi = NAN);
    void hline(float y, Color c, float width = 1.0f, bool dashed = true, const std::string& label = "");
    void vline(float x, Color c, float width = 1.0f, bool dashed = true, const std::string& label = "");
    // A grayscale image, row-major h x w, values mapped from [lo, hi] to black..white (NaN shows red).
    // It fills the panel with its aspect kept; such a panel draws no axes, only title and xlabel.
    void image(const float* pixels, int h, int w, float lo = 0.f, float hi = 1.f);

    void title(const std::string& text);
    void xlabel(const std::string& text);
    void ylabel(const std::string& text);
    void xlim(float lo, float hi);  // fixes the x range (default: the data plus a 5% margin)
    void ylim(float lo, float hi);
    void logy(bool on = true);          // log10 y axis; non-positive values are skipped
    void equal_aspect(bool on = true);  // same data units per pixel in x and y
    void legend(bool on = true);        // default: shown when any series has a label

 private:
    friend class Figure;
    detail::AxesState state_;
};

// ---- a figure: a grid of panels ----

class Figure {
 public:
    Figure(int rows, int cols, int panel_w = 420, int panel_h = 340);
    Axes& at(int row, int col);
    void suptitle(const std::string& text);
    // Writes the PNG to path + ".tmp" and renames it into place, so a reader never sees half a file.
    // Creates parent directories. Throws std::runtime_error("<path>: <problem>") on failure.
    void save(const std::string& path) const;

 private:
    int rows_, cols_, panel_w_, panel_h_;
    std::vector<Axes> axes_;  // row-major
    std::string suptitle_;
};

// ---- image grids ----

// images is (n, c, h, w) with c = 1 (grayscale) or 3 (RGB); values map from [lo, hi] to 0..255 and
// NaN shows red. Each image is scaled up `scale` times, `cols` per row, 2-pixel gaps. row_labels
// (one per row) go on the left, col_labels (one per column) on top; either may be empty.
void save_image_grid(const std::string& path, const float* images, int n, int c, int h, int w, int cols, float lo = 0.f,
                     float hi = 1.f, int scale = 2, const std::vector<std::string>& row_labels = {},
                     const std::vector<std::string>& col_labels = {});

}  // namespace ddpm::plot
