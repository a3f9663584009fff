// plot.cpp: the rasteriser behind plot.h.
//
// Everything is drawn into a float RGB canvas (0..255 per channel, white to start) and rounded to
// bytes only when the PNG is written; float keeps faint colours adding up when thousands of
// translucent paths cross the same pixel, where 8-bit blending would stall. Shapes are antialiased
// by coverage: a pixel half covered by a line gets half the line's opacity.
//
// Coordinates: pixel (x, y) covers [x, x+1) x [y, y+1), y grows downwards.
#include "plot/plot.h"

#include "core/io.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <stdexcept>

// stb_image_write's implementation is compiled in store/png.cpp
#include <stb/stb_image_write.h>
#define STB_TRUETYPE_IMPLEMENTATION
#include <stb/stb_truetype.h>

namespace ddpm::plot {

using detail::AxesState;
using detail::Series;
using detail::SeriesKind;

// ---- colours ----

namespace {
uint8_t clamp_channel(int v) {
    return static_cast<uint8_t>(std::clamp(v, 0, 255));
}
}  // namespace

Color rgb(int r, int g, int b, int a) {
    return {clamp_channel(r), clamp_channel(g), clamp_channel(b), clamp_channel(a)};
}

Color with_alpha(Color c, int a) {
    c.a = clamp_channel(a);
    return c;
}

namespace {
// Ten distinct hues for series: blue, orange, green, red, purple, brown, pink, gray, olive, cyan.
constexpr Color kPalette[10] = {{38, 112, 184}, {242, 132, 26},  {52, 158, 64},   {208, 48, 46},  {142, 98, 188},
                                {138, 88, 72},  {226, 116, 190}, {122, 122, 122}, {182, 182, 40}, {30, 184, 204}};
}  // namespace

Color palette(int i) {
    int k = i % 10;
    return kPalette[k < 0 ? k + 10 : k];
}

Color viridis(float t) {
    // viridis sampled at t = 0, 1/8, ..., 1 and interpolated linearly in between; it runs from dark
    // to light, so it also reads in grayscale.
    static const int samples[9][3] = {{68, 1, 84},    {71, 45, 123}, {59, 82, 139},  {44, 114, 142}, {33, 145, 140},
                                      {40, 174, 128}, {94, 201, 98}, {173, 220, 48}, {253, 231, 37}};
    if (!(t > 0.f)) t = 0.f;  // also catches NaN
    float position = std::min(t, 1.f) * 8.f;
    int i = std::min(static_cast<int>(position), 7);
    float f = position - i;
    auto mix = [&](int ch) {
        return static_cast<int>(std::lround(samples[i][ch] + f * (samples[i + 1][ch] - samples[i][ch])));
    };
    return rgb(mix(0), mix(1), mix(2));
}

// Constant-initialised from the palette, so other files may use them in their own static initialisers.
namespace colors {
const Color blue = kPalette[0], orange = kPalette[1], green = kPalette[2], red = kPalette[3], purple = kPalette[4],
            gray = kPalette[7], black = {0, 0, 0}, white = {255, 255, 255};
}  // namespace colors

// ---- canvas ----

// The pixel buffer of one PNG, plus a scratch mask where one shape's coverage is collected before it
// is blended (see "shapes" below).
struct Canvas {
    int width, height;
    std::vector<float> rgb;       // (height, width, 3), 0..255
    std::vector<float> coverage;  // (height, width), 0 outside the shape being drawn
    std::vector<int> touched;     // pixels with coverage > 0, in the order first touched

    Canvas(int w, int h)
        : width(w), height(h), rgb(static_cast<size_t>(w) * h * 3, 255.f), coverage(static_cast<size_t>(w) * h, 0.f) {}
};

namespace {

struct Rect {
    int x0, y0, x1, y1;  // the pixels x0 <= x < x1, y0 <= y < y1
    int width() const { return x1 - x0; }
    int height() const { return y1 - y0; }
};

struct Point {
    float x, y;  // pixel coordinates
};

Rect whole(const Canvas& cv) {
    return {0, 0, cv.width, cv.height};
}

Rect intersect(Rect a, Rect b) {
    return {std::max(a.x0, b.x0), std::max(a.y0, b.y0), std::min(a.x1, b.x1), std::min(a.y1, b.y1)};
}

float opacity(Color c) {
    return c.a / 255.f;
}

void blend(Canvas& cv, int pixel, Color c, float alpha) {
    float* p = &cv.rgb[static_cast<size_t>(pixel) * 3];
    p[0] += (c.r - p[0]) * alpha;
    p[1] += (c.g - p[1]) * alpha;
    p[2] += (c.b - p[2]) * alpha;
}

// A pixel-aligned rectangle (frames, grid lines, image pixels), clipped to the canvas.
void fill_rect(Canvas& cv, Rect r, Color c) {
    r = intersect(r, whole(cv));
    for (int y = r.y0; y < r.y1; ++y)
        for (int x = r.x0; x < r.x1; ++x) blend(cv, y * cv.width + x, c, opacity(c));
}

// Float pixel coordinate -> integer bound in [lo, hi]; safe for huge values and NaN.
int clamp_to_int(float v, int lo, int hi) {
    if (!(v > lo)) return lo;
    if (v > hi) return hi;
    return static_cast<int>(v);
}

// ---- shapes ----
// A polyline's segments overlap where they join, and the bars of a histogram share edges. Blending
// each piece on its own would paint those pixels twice and show beads or seams on a translucent
// shape, so a shape first collects its coverage in the canvas mask and is then blended once.

enum class Combine { max, add };  // max: overlapping strokes count once; add: abutting fills sum to 1

void cover(Canvas& cv, int pixel, float amount, Combine how) {
    float& m = cv.coverage[pixel];
    if (m == 0.f) cv.touched.push_back(pixel);
    m = how == Combine::max ? std::max(m, amount) : m + amount;
}

void blend_mask(Canvas& cv, Color c) {
    for (int pixel : cv.touched) {
        blend(cv, pixel, c, opacity(c) * std::min(cv.coverage[pixel], 1.f));
        cv.coverage[pixel] = 0.f;
    }
    cv.touched.clear();
}

// Cuts the segment a-b to the box [x0,x1] x [y0,y1] (Liang-Barsky); false when nothing is left.
bool clip_segment(Point& a, Point& b, float x0, float y0, float x1, float y1) {
    float dx = b.x - a.x, dy = b.y - a.y, t0 = 0.f, t1 = 1.f;
    const float p[4] = {-dx, dx, -dy, dy};
    const float q[4] = {a.x - x0, x1 - a.x, a.y - y0, y1 - a.y};
    for (int i = 0; i < 4; ++i) {
        if (p[i] == 0.f) {
            if (q[i] < 0.f) return false;  // parallel to this edge and outside it
        } else if (p[i] < 0.f) {
            t0 = std::max(t0, q[i] / p[i]);
        } else {
            t1 = std::min(t1, q[i] / p[i]);
        }
    }
    if (t0 > t1) return false;
    Point start = a;
    a = {start.x + t0 * dx, start.y + t0 * dy};
    b = {start.x + t1 * dx, start.y + t1 * dy};
    return true;
}

// A round-capped stroke a-b of half-width `half`: coverage falls from 1 to 0 over the pixel that
// straddles the edge. Thin lines (width < 1) are drawn 1 pixel wide at reduced strength.
void cover_capsule(Canvas& cv, const Rect& clip, Point a, Point b, float half, float strength) {
    float reach = half + 1.f;
    int x0 = clamp_to_int(std::floor(std::min(a.x, b.x) - reach), clip.x0, clip.x1);
    int x1 = clamp_to_int(std::ceil(std::max(a.x, b.x) + reach), clip.x0, clip.x1);
    int y0 = clamp_to_int(std::floor(std::min(a.y, b.y) - reach), clip.y0, clip.y1);
    int y1 = clamp_to_int(std::ceil(std::max(a.y, b.y) + reach), clip.y0, clip.y1);
    float dx = b.x - a.x, dy = b.y - a.y, length2 = dx * dx + dy * dy;
    for (int y = y0; y < y1; ++y) {
        for (int x = x0; x < x1; ++x) {
            float px = x + 0.5f - a.x, py = y + 0.5f - a.y;
            float t = length2 > 0.f ? std::clamp((px * dx + py * dy) / length2, 0.f, 1.f) : 0.f;
            float ex = px - t * dx, ey = py - t * dy;
            float amount = std::clamp(half + 0.5f - std::sqrt(ex * ex + ey * ey), 0.f, 1.f) * strength;
            if (amount > 0.f) cover(cv, y * cv.width + x, amount, Combine::max);
        }
    }
}

// Adds the stroke a-b to the mask. Long segments are cut into short pieces so that each piece's
// bounding box stays tight: a diagonal across the panel would otherwise scan the whole panel.
// Because the mask keeps the maximum, the pieces join without a trace.
void cover_segment(Canvas& cv, const Rect& clip, Point a, Point b, float width) {
    const float piece_px = 8.f;
    float half = std::max(width, 1.f) * 0.5f, strength = std::min(width, 1.f);
    float reach = half + 1.f;
    if (!clip_segment(a, b, clip.x0 - reach, clip.y0 - reach, clip.x1 + reach, clip.y1 + reach)) return;
    float length = std::hypot(b.x - a.x, b.y - a.y);
    int pieces = std::max(1, static_cast<int>(std::ceil(length / piece_px)));
    for (int i = 0; i < pieces; ++i) {
        float t0 = static_cast<float>(i) / pieces, t1 = static_cast<float>(i + 1) / pieces;
        Point p0{a.x + t0 * (b.x - a.x), a.y + t0 * (b.y - a.y)};
        Point p1{a.x + t1 * (b.x - a.x), a.y + t1 * (b.y - a.y)};
        cover_capsule(cv, clip, p0, p1, half, strength);
    }
}

// Walks the segment a-b through the dash pattern, covering the "on" parts. `phase` is the distance
// already travelled into the pattern, carried from one segment to the next.
void cover_dashed_segment(Canvas& cv, const Rect& clip, Point a, Point b, float width, float& phase) {
    float w = std::max(width, 1.5f);
    float on = 3.5f * w, off = 2.5f * w + width;  // the round caps eat `width` of each gap
    float length = std::hypot(b.x - a.x, b.y - a.y);
    float s = 0.f;
    while (s < length) {
        bool drawing = phase < on;
        float step = std::min((drawing ? on : on + off) - phase, length - s);
        if (drawing) {
            Point p0{a.x + (b.x - a.x) * s / length, a.y + (b.y - a.y) * s / length};
            Point p1{a.x + (b.x - a.x) * (s + step) / length, a.y + (b.y - a.y) * (s + step) / length};
            cover_segment(cv, clip, p0, p1, width);
        }
        s += step;
        phase += step;
        if (phase >= on + off) phase -= on + off;
    }
}

bool finite_point(Point p) {
    return std::isfinite(p.x) && std::isfinite(p.y);
}

// A polyline through pts; a non-finite point breaks it. Blended once, so a translucent line has
// the same opacity everywhere, also where it crosses itself.
void draw_polyline(Canvas& cv, const Rect& clip, const std::vector<Point>& pts, Color c, float width, bool dashed) {
    float phase = 0.f;
    for (size_t i = 1; i < pts.size(); ++i) {
        if (!finite_point(pts[i - 1]) || !finite_point(pts[i])) continue;
        if (dashed) {
            cover_dashed_segment(cv, clip, pts[i - 1], pts[i], width, phase);
        } else {
            cover_segment(cv, clip, pts[i - 1], pts[i], width);
        }
    }
    blend_mask(cv, c);
}

// A filled antialiased disc; each disc is blended on its own, so overlapping translucent points
// build up like ink.
void fill_disc(Canvas& cv, const Rect& clip, Point centre, float radius, Color c) {
    float r = std::max(radius, 0.5f), reach = r + 1.f;
    int x0 = clamp_to_int(std::floor(centre.x - reach), clip.x0, clip.x1);
    int x1 = clamp_to_int(std::ceil(centre.x + reach), clip.x0, clip.x1);
    int y0 = clamp_to_int(std::floor(centre.y - reach), clip.y0, clip.y1);
    int y1 = clamp_to_int(std::ceil(centre.y + reach), clip.y0, clip.y1);
    for (int y = y0; y < y1; ++y) {
        for (int x = x0; x < x1; ++x) {
            float d = std::hypot(x + 0.5f - centre.x, y + 0.5f - centre.y);
            float amount = std::clamp(r + 0.5f - d, 0.f, 1.f);
            if (amount > 0.f) blend(cv, y * cv.width + x, c, opacity(c) * amount);
        }
    }
}

float overlap(float a0, float a1, float b0, float b1) {
    return std::max(0.f, std::min(a1, b1) - std::max(a0, b0));
}

// Adds the rectangle [x0,x1] x [y0,y1] (any corner order) to the mask; edge pixels get the
// fraction of their area inside it.
void cover_rect(Canvas& cv, const Rect& clip, float x0, float y0, float x1, float y1) {
    if (x0 > x1) std::swap(x0, x1);
    if (y0 > y1) std::swap(y0, y1);
    int ix0 = clamp_to_int(std::floor(x0), clip.x0, clip.x1), ix1 = clamp_to_int(std::ceil(x1), clip.x0, clip.x1);
    int iy0 = clamp_to_int(std::floor(y0), clip.y0, clip.y1), iy1 = clamp_to_int(std::ceil(y1), clip.y0, clip.y1);
    for (int y = iy0; y < iy1; ++y) {
        float fy = overlap(static_cast<float>(y), y + 1.f, y0, y1);
        for (int x = ix0; x < ix1; ++x) {
            float amount = fy * overlap(static_cast<float>(x), x + 1.f, x0, x1);
            if (amount > 0.f) cover(cv, y * cv.width + x, amount, Combine::add);
        }
    }
}

// ---- text ----
// Sizes are "em" sizes in pixels, like a font size in CSS. Text is rasterised into a coverage mask
// that is then blended onto the canvas, either as is or turned 90 degrees (reading upwards).

// DejaVu Sans: $DDPM_FONT if set, else where Debian's fonts-dejavu-core puts it, else where a Mac
// keeps fonts installed by hand or by Homebrew's font-dejavu cask.
std::string font_path() {
    if (const char* env = std::getenv("DDPM_FONT")) return env;
    std::vector<std::string> candidates = {"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
                                           "/Library/Fonts/DejaVuSans.ttf"};
    if (const char* home = std::getenv("HOME")) candidates.push_back(std::string(home) + "/Library/Fonts/DejaVuSans.ttf");
    for (const std::string& path : candidates)
        if (std::ifstream(path, std::ios::binary)) return path;
    return candidates[0];
}

struct Font {
    std::vector<unsigned char> bytes;  // stbtt_fontinfo points into these
    stbtt_fontinfo info{};
    int ascent = 0, descent = 0;  // in font units; descent is negative

    Font() {
        const std::string path = font_path();
        std::ifstream file(path, std::ios::binary);
        if (!file)
            throw std::runtime_error(path + ": font not found (Debian: install fonts-dejavu-core; or set DDPM_FONT "
                                            "to a DejaVuSans.ttf)");
        bytes.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
        if (!stbtt_InitFont(&info, bytes.data(), stbtt_GetFontOffsetForIndex(bytes.data(), 0)))
            throw std::runtime_error(path + ": not a TrueType font (reinstall fonts-dejavu-core, or set DDPM_FONT)");
        int line_gap = 0;
        stbtt_GetFontVMetrics(&info, &ascent, &descent, &line_gap);
    }
};

// Loaded on first use; C++11 makes the initialisation of a function-local static thread-safe.
const Font& font() {
    static const Font loaded;
    return loaded;
}

float font_scale(float em) {
    return stbtt_ScaleForMappingEmToPixels(&font().info, em);
}

// Height of one line of text: from the top of the tallest letters to the bottom of the descenders.
float line_height(float em) {
    return (font().ascent - font().descent) * font_scale(em);
}

// UTF-8 bytes -> Unicode code points; a malformed byte becomes U+FFFD.
std::vector<int> code_points(const std::string& text) {
    std::vector<int> out;
    for (size_t i = 0; i < text.size();) {
        unsigned char lead = static_cast<unsigned char>(text[i]);
        int extra = lead < 0x80 ? 0 : (lead >> 5) == 0x6 ? 1 : (lead >> 4) == 0xE ? 2 : (lead >> 3) == 0x1E ? 3 : -1;
        if (extra < 0 || i + extra >= text.size()) {  // not a lead byte, or cut off at the end
            out.push_back(0xFFFD);
            ++i;
            continue;
        }
        int cp = extra == 0 ? lead : lead & (0x3F >> extra);
        bool ok = true;
        for (int k = 1; k <= extra; ++k) {
            unsigned char next = static_cast<unsigned char>(text[i + k]);
            ok = ok && (next >> 6) == 0x2;
            cp = (cp << 6) | (next & 0x3F);
        }
        out.push_back(ok ? cp : 0xFFFD);
        i += ok ? extra + 1 : 1;
    }
    return out;
}

// Pen advance of each glyph plus the kerning to the next one, in pixels.
std::vector<float> glyph_advances(const std::vector<int>& cps, float scale) {
    std::vector<float> advances;
    for (size_t i = 0; i < cps.size(); ++i) {
        int advance = 0, left_bearing = 0;
        stbtt_GetCodepointHMetrics(&font().info, cps[i], &advance, &left_bearing);
        int kern = i + 1 < cps.size() ? stbtt_GetCodepointKernAdvance(&font().info, cps[i], cps[i + 1]) : 0;
        advances.push_back((advance + kern) * scale);
    }
    return advances;
}

float text_width(const std::string& text, float em) {
    float width = 0.f;
    for (float a : glyph_advances(code_points(text), font_scale(em))) width += a;
    return width;
}

float widest(const std::vector<std::string>& texts, float em) {
    float w = 0.f;
    for (const auto& t : texts) w = std::max(w, text_width(t, em));
    return w;
}

// The largest text size up to `em` at which every label fits in `width` pixels (never below 7).
float fitting_em(const std::vector<std::string>& labels, float em, float width) {
    while (em > 7.f && widest(labels, em) > width) em -= 0.5f;
    return em;
}

// Where to centre text `size` pixels long near `centre` so that it stays within [lo, hi].
float keep_inside(float centre, float size, float lo, float hi) {
    return std::clamp(centre, lo + 0.5f * size, std::max(lo + 0.5f * size, hi - 0.5f * size));
}

struct TextMask {
    int w = 0, h = 0;
    std::vector<float> alpha;      // (h, w), 0..1
    float advance = 0.f;           // the logical width of the text
    static constexpr int pad = 2;  // blank border: glyphs may reach a little outside their advance
};

TextMask rasterise_text(const std::string& text, float em) {
    const Font& f = font();
    float scale = font_scale(em);
    std::vector<int> cps = code_points(text);
    std::vector<float> advances = glyph_advances(cps, scale);
    TextMask m;
    for (float a : advances) m.advance += a;
    m.w = static_cast<int>(std::ceil(m.advance)) + 2 * TextMask::pad;
    m.h = static_cast<int>(std::ceil(line_height(em))) + 2 * TextMask::pad;
    m.alpha.assign(static_cast<size_t>(m.w) * m.h, 0.f);
    int baseline = TextMask::pad + static_cast<int>(std::lround(f.ascent * scale));
    float pen = TextMask::pad;
    for (size_t i = 0; i < cps.size(); ++i) {
        float left = std::floor(pen);
        int gw = 0, gh = 0, xoff = 0, yoff = 0;
        unsigned char* glyph =
            stbtt_GetCodepointBitmapSubpixel(&f.info, scale, scale, pen - left, 0.f, cps[i], &gw, &gh, &xoff, &yoff);
        for (int gy = 0; gy < gh; ++gy) {
            for (int gx = 0; gx < gw; ++gx) {
                int x = static_cast<int>(left) + xoff + gx, y = baseline + yoff + gy;
                if (x < 0 || y < 0 || x >= m.w || y >= m.h) continue;
                float& a = m.alpha[static_cast<size_t>(y) * m.w + x];
                a = std::min(1.f, a + glyph[gy * gw + gx] / 255.f);  // touching glyphs add up
            }
        }
        stbtt_FreeBitmap(glyph, nullptr);
        pen += advances[i];
    }
    return m;
}

// Draws text so that the point (align_x, align_y) of its box lands on (x, y): (0, 0) is the top
// left corner, (0.5, 0.5) the centre, (1, 1) the bottom right. The box is the advance width by one
// line height. vertical = turned 90 degrees counter-clockwise (reads bottom to top); the alignment
// then refers to the turned box.
void draw_text(Canvas& cv, const std::string& text, float x, float y, float em, Color c, float align_x, float align_y,
               bool vertical = false) {
    if (text.empty()) return;
    TextMask m = rasterise_text(text, em);
    float box_w = vertical ? line_height(em) : m.advance, box_h = vertical ? m.advance : line_height(em);
    int left = static_cast<int>(std::lround(x - align_x * box_w));
    int top = static_cast<int>(std::lround(y - align_y * box_h));
    int pad = TextMask::pad;
    for (int my = 0; my < m.h; ++my) {
        for (int mx = 0; mx < m.w; ++mx) {
            float a = m.alpha[static_cast<size_t>(my) * m.w + mx];
            if (a == 0.f) continue;
            // Turned: mask column mx becomes a row counted from the bottom, mask row my a column.
            int cx = vertical ? left - pad + my : left - pad + mx;
            int cy = vertical ? top + static_cast<int>(std::lround(m.advance)) + pad - 1 - mx : top - pad + my;
            if (cx < 0 || cy < 0 || cx >= cv.width || cy >= cv.height) continue;
            blend(cv, cy * cv.width + cx, c, opacity(c) * a);
        }
    }
}

// ---- PNG output ----

void append_png_bytes(void* context, void* data, int size) {
    static_cast<std::string*>(context)->append(static_cast<const char*>(data), size_t(size));
}

// Encoded in memory, then written by core/io's write_file_atomic (a temporary name beside the target,
// renamed over it: a reader sees the old file or the new one, never half; the folders made as needed).
void write_png(const std::string& path, const Canvas& cv) {
    std::vector<uint8_t> bytes(cv.rgb.size());
    for (size_t i = 0; i < bytes.size(); ++i)
        bytes[i] = static_cast<uint8_t>(std::lround(std::clamp(cv.rgb[i], 0.f, 255.f)));
    std::string png;
    if (!stbi_write_png_to_func(append_png_bytes, &png, cv.width, cv.height, 3, bytes.data(), cv.width * 3))
        throw std::runtime_error(path + ": cannot encode the figure as PNG");
    write_file_atomic(path, png);
}

// ---- style ----
// Text sizes (em, pixels) and the grays of the axes furniture, in one place.

const float kTickEm = 11.5f, kLabelEm = 13.f, kTitleEm = 14.f, kLegendEm = 11.5f, kSuptitleEm = 16.f;
const float kGridLabelEm = 12.f;
const int kTickLength = 4, kTickGap = 3;  // tick mark length, and the space between mark and label
const Color kInk = {34, 34, 34}, kSpine = {68, 68, 68}, kGrid = {228, 228, 228}, kLegendEdge = {200, 200, 200};

// ---- ticks ----

struct Range {
    double lo, hi;  // in axis units: data units, or log10 of them on a log axis
};

struct Ticks {
    std::vector<double> major;  // labelled positions, axis units
    std::vector<std::string> labels;
    std::vector<double> minor;  // small unlabelled marks (log axes: 2..9 x 10^k)
};

// A typographic minus (U+2212) reads better than a hyphen in front of numbers.
std::string with_minus_signs(const std::string& s) {
    std::string out;
    for (char ch : s) out += ch == '-' ? std::string("\xE2\x88\x92") : std::string(1, ch);
    return out;
}

// A multiple of 10^k: with exactly the decimals it needs, or as 2.5e5 when very large or small.
std::string number_label(double v, int k, bool scientific) {
    if (v == 0.0) return "0";
    char buf[64];
    if (!scientific) {
        std::snprintf(buf, sizeof buf, "%.*f", std::max(0, -k), v);
        return with_minus_signs(buf);
    }
    int e = static_cast<int>(std::floor(std::log10(std::fabs(v)) + 1e-9));
    std::snprintf(buf, sizeof buf, "%.*f", std::max(0, e - k), v / std::pow(10.0, e));
    std::string mantissa = buf;
    if (mantissa.find('.') != std::string::npos) {  // 1.0e5 -> 1e5
        mantissa.erase(mantissa.find_last_not_of('0') + 1);
        if (mantissa.back() == '.') mantissa.pop_back();
    }
    return with_minus_signs(mantissa + "e" + std::to_string(e));
}

// Does a label fit between neighbouring ticks `spacing_px` apart?
bool labels_fit(const Ticks& t, double spacing_px, bool horizontal) {
    if (t.major.size() < 2) return true;
    double needed = horizontal ? widest(t.labels, kTickEm) + 12.0 : line_height(kTickEm) + 4.0;
    return spacing_px >= needed;
}

// Ticks at multiples of a "nice" step 1, 2 or 5 x 10^k: the smallest step that gives at most 8
// ticks whose labels do not collide.
Ticks linear_ticks(Range r, float axis_px, bool horizontal) {
    double span = r.hi - r.lo;
    int k_start = static_cast<int>(std::floor(std::log10(span / 10.0)));
    double largest = std::max(std::fabs(r.lo), std::fabs(r.hi));
    bool scientific = largest >= 1e5 || largest < 1e-3;
    Ticks t;
    for (int k = k_start; k < k_start + 4; ++k) {
        for (int m : {1, 2, 5}) {
            double step = m * std::pow(10.0, k);
            double first = std::ceil(r.lo / step - 1e-6), last = std::floor(r.hi / step + 1e-6);
            if (last - first + 1 > 8) continue;
            t = Ticks{};
            for (double i = first; i <= last; ++i) {
                t.major.push_back(i * step);  // i * step, not a running sum, so 0.3 stays 0.3
                t.labels.push_back(number_label(i * step, k, scientific));
            }
            if (labels_fit(t, step / span * axis_px, horizontal)) return t;
        }
    }
    return t;
}

// U+2070.. superscript digits and minus, to write 10^-3 as one label.
std::string superscript(int n) {
    static const char* const digits[10] = {"\xE2\x81\xB0", "\xC2\xB9",     "\xC2\xB2",     "\xC2\xB3",
                                           "\xE2\x81\xB4", "\xE2\x81\xB5", "\xE2\x81\xB6", "\xE2\x81\xB7",
                                           "\xE2\x81\xB8", "\xE2\x81\xB9"};
    std::string out = n < 0 ? "\xE2\x81\xBB" : "";
    for (char ch : std::to_string(std::abs(n))) out += digits[ch - '0'];
    return out;
}

// Log axis (range in log10 units): labels at powers of ten, every one or every few decades;
// minor marks at 2..9 x 10^k when every decade is labelled.
Ticks log_ticks(Range r, float axis_px) {
    int first = static_cast<int>(std::ceil(r.lo - 1e-6)), last = static_cast<int>(std::floor(r.hi + 1e-6));
    double decade_px = axis_px / (r.hi - r.lo);
    // Widen the stride until at most 8 labels remain and they do not collide; once the stride
    // exceeds the number of decades at most one label is left, which always fits.
    int stride = 1;
    while (stride <= last - first &&
           ((last - first) / stride + 1 > 8 || stride * decade_px < line_height(kTickEm) + 4.0))
        ++stride;
    Ticks t;
    int start = static_cast<int>(std::ceil(static_cast<double>(first) / stride)) * stride;
    for (int e = start; e <= last; e += stride) {
        t.major.push_back(e);
        t.labels.push_back("10" + superscript(e));
    }
    for (int e = static_cast<int>(std::floor(r.lo)); e <= last; ++e) {
        if (stride > 1) {
            if (e % stride != 0 && e >= first) t.minor.push_back(e);
            continue;
        }
        for (int m = 2; m <= 9; ++m) {
            double v = e + std::log10(static_cast<double>(m));
            if (v >= r.lo && v <= r.hi) t.minor.push_back(v);
        }
    }
    // A range inside one decade (only with ylim) has too few powers of ten: label the 2..9 marks.
    if (t.major.size() < 2) {
        for (double v : t.minor) {
            t.major.push_back(v);
            t.labels.push_back(number_label(std::pow(10.0, v), static_cast<int>(std::floor(v)), false));
        }
        t.minor.clear();
    }
    return t;
}

// ---- axis ranges ----

// Running minimum and maximum of the finite values seen.
struct Extent {
    double lo = std::numeric_limits<double>::infinity(), hi = -std::numeric_limits<double>::infinity();
    void add(double v) {
        if (!std::isfinite(v)) return;
        lo = std::min(lo, v);
        hi = std::max(hi, v);
    }
    bool empty() const { return lo > hi; }
};

// A y value in axis units; NaN when it cannot be shown (non-positive on a log axis).
double axis_y(float y, bool logy) {
    if (!logy) return y;
    return y > 0.f ? std::log10(static_cast<double>(y)) : std::nan("");
}

// What the series span, in axis units. bars_from_zero: a histogram starts at y = 0, and that
// zero should sit on the frame rather than float above a margin.
void data_extents(const AxesState& ax, Extent& ex, Extent& ey, bool& bars_from_zero) {
    for (const Series& s : ax.series) {
        switch (s.kind) {
            case SeriesKind::points:
            case SeriesKind::polyline:
                for (size_t i = 0; i < s.x.size(); ++i) {
                    double y = axis_y(s.y[i], ax.logy);
                    if (!std::isfinite(s.x[i]) || !std::isfinite(y)) continue;
                    ex.add(s.x[i]);
                    ey.add(y);
                }
                break;
            case SeriesKind::bars:
                if (s.x.empty()) break;
                ex.add(s.x.front());
                ex.add(s.x.back());
                for (float height : s.y) ey.add(axis_y(height, ax.logy));
                if (!ax.logy) ey.add(0.0);
                bars_from_zero = bars_from_zero || !ax.logy;
                break;
            case SeriesKind::hline:
                ey.add(axis_y(s.y[0], ax.logy));
                break;
            case SeriesKind::vline:
                ex.add(s.x[0]);
                break;
        }
    }
}

// The data range plus a 5% margin on each side. An empty axis shows 0..1; a log axis is widened
// to whole decades when it would otherwise show fewer than two powers of ten.
Range autoscale(const Extent& e, bool sticky_zero, bool log) {
    if (e.empty()) return {0.0, 1.0};
    Range r{e.lo, e.hi};
    if (r.lo == r.hi) {
        double pad = log || r.lo == 0.0 ? 0.5 : 0.05 * std::fabs(r.lo);
        r = {r.lo - pad, r.hi + pad};
    } else {
        double pad = 0.05 * (r.hi - r.lo);
        r = {sticky_zero && r.lo == 0.0 ? 0.0 : r.lo - pad, r.hi + pad};
    }
    if (log && std::floor(r.hi) - std::ceil(r.lo) < 1.0) r = {std::floor(r.lo), std::ceil(r.hi)};
    if (log && r.hi - r.lo < 1.0) r.hi = r.lo + 1.0;
    return r;
}

Range x_range(const AxesState& ax, const Extent& ex) {
    if (ax.has_xlim) return {ax.xlim_lo, ax.xlim_hi};
    return autoscale(ex, false, false);
}

Range y_range(const AxesState& ax, const Extent& ey, bool bars_from_zero) {
    if (!ax.has_ylim) return autoscale(ey, bars_from_zero, ax.logy);
    if (!ax.logy) return {ax.ylim_lo, ax.ylim_hi};
    if (ax.ylim_lo <= 0.f)
        throw std::runtime_error("Axes::ylim: a log axis needs lo > 0, got " + std::to_string(ax.ylim_lo));
    return {std::log10(static_cast<double>(ax.ylim_lo)), std::log10(static_cast<double>(ax.ylim_hi))};
}

// Same data units per pixel on both axes: the range with fewer units per pixel is widened about
// its centre.
void equalize_aspect(Range base_x, Range base_y, const Rect& plot, Range& x, Range& y) {
    double units_per_px = std::max((base_x.hi - base_x.lo) / plot.width(), (base_y.hi - base_y.lo) / plot.height());
    auto widen = [](Range r, double span) {
        double centre = 0.5 * (r.lo + r.hi);
        return Range{centre - 0.5 * span, centre + 0.5 * span};
    };
    x = widen(base_x, units_per_px * plot.width());
    y = widen(base_y, units_per_px * plot.height());
}

// ---- panel layout ----

// Where one panel's data area lies and how axis units map to pixels. The first and last pixel
// centres of the data area sit exactly on the range ends, so ticks there meet the frame.
struct Panel {
    Rect cell;  // the panel's share of the figure
    Rect plot;  // the data area; the frame is its outermost ring of pixels
    Range x{0, 1}, y{0, 1};
    bool logy = false;
    Ticks xticks, yticks;

    float px(double v) const {
        return static_cast<float>(plot.x0 + 0.5 + (v - x.lo) / (x.hi - x.lo) * (plot.width() - 1));
    }
    float py(double v) const {
        return static_cast<float>(plot.y1 - 0.5 - (v - y.lo) / (y.hi - y.lo) * (plot.height() - 1));
    }
    Point to_pixel(float dx, float dy) const { return {px(dx), py(axis_y(dy, logy))}; }
};

Ticks ticks_for(Range r, bool log, float axis_px, bool horizontal) {
    return log ? log_ticks(r, axis_px) : linear_ticks(r, axis_px, horizontal);
}

int title_band(const AxesState& ax) {
    return ax.title.empty() ? 12 : static_cast<int>(std::ceil(line_height(kTitleEm))) + 12;
}

int bottom_band(const AxesState& ax) {
    int ticks = kTickLength + kTickGap + static_cast<int>(std::ceil(line_height(kTickEm)));
    int label = ax.xlabel.empty() ? 0 : static_cast<int>(std::ceil(line_height(kLabelEm))) + 4;
    return ticks + label + 8;
}

int left_band(const AxesState& ax, const Ticks& yticks) {
    int label = ax.ylabel.empty() ? 0 : static_cast<int>(std::ceil(line_height(kLabelEm))) + 6;
    return 8 + label + static_cast<int>(std::ceil(widest(yticks.labels, kTickEm))) + kTickGap + kTickLength;
}

Panel layout_panel(const AxesState& ax, Rect cell) {
    Extent ex, ey;
    bool bars_from_zero = false;
    data_extents(ax, ex, ey, bars_from_zero);
    Range base_x = x_range(ax, ex), base_y = y_range(ax, ey, bars_from_zero);

    Panel p;
    p.cell = cell;
    p.logy = ax.logy;
    p.x = base_x;
    p.y = base_y;
    int top = title_band(ax), bottom = bottom_band(ax), right = 16;
    int plot_h = std::max(10, cell.height() - top - bottom);
    // The left margin depends on the widest y tick label; with equal aspect the y range depends on
    // the plot width in turn. A few rounds settle it (the margin only grows, so it cannot cycle).
    int left = 0;
    for (int round = 0; round < 3; ++round) {
        p.yticks = ticks_for(p.y, ax.logy, static_cast<float>(plot_h), false);
        left = std::max(left, left_band(ax, p.yticks));
        int x1 = std::max(cell.x0 + left + 10, cell.x1 - right);
        // In a tiny panel the margins leave no room: the data area may shrink to nothing, but it
        // never reaches outside the panel (or the canvas).
        p.plot = intersect({cell.x0 + left, cell.y0 + top, x1, cell.y0 + top + plot_h}, cell);
        if (!ax.equal_aspect || ax.logy) break;
        equalize_aspect(base_x, base_y, p.plot, p.x, p.y);
    }
    p.yticks = ticks_for(p.y, ax.logy, static_cast<float>(plot_h), false);
    p.xticks = ticks_for(p.x, false, static_cast<float>(p.plot.width()), true);
    return p;
}

// ---- drawing the series ----

std::vector<Point> series_pixels(const Panel& p, const Series& s) {
    std::vector<Point> pts(s.x.size());
    for (size_t i = 0; i < s.x.size(); ++i) pts[i] = p.to_pixel(s.x[i], s.y[i]);
    return pts;  // NaN where the data cannot be shown
}

void draw_bars(Canvas& cv, const Panel& p, const Series& s) {
    // On a log axis bars rise from the bottom of the frame; zero-height bins have nothing to draw.
    float base = p.logy ? static_cast<float>(p.plot.y1) : p.py(0.0);
    for (size_t i = 0; i + 1 < s.x.size(); ++i) {
        float top = p.py(axis_y(s.y[i], p.logy));
        if (!std::isfinite(top) || s.y[i] == 0.f) continue;
        cover_rect(cv, p.plot, p.px(s.x[i]), base, p.px(s.x[i + 1]), top);
    }
    blend_mask(cv, s.color);
}

void draw_series(Canvas& cv, const Panel& p, const Series& s) {
    const Rect& clip = p.plot;
    switch (s.kind) {
        case SeriesKind::points: {
            std::vector<Point> pts = series_pixels(p, s);
            for (size_t i = 0; i < pts.size(); ++i)
                if (finite_point(pts[i]))
                    fill_disc(cv, clip, pts[i], s.size, s.point_colors.empty() ? s.color : s.point_colors[i]);
            break;
        }
        case SeriesKind::polyline:
            draw_polyline(cv, clip, series_pixels(p, s), s.color, s.size, s.dashed);
            break;
        case SeriesKind::bars:
            draw_bars(cv, p, s);
            break;
        case SeriesKind::hline: {
            float y = p.py(axis_y(s.y[0], p.logy));
            std::vector<Point> pts = {{static_cast<float>(clip.x0), y}, {static_cast<float>(clip.x1), y}};
            draw_polyline(cv, clip, pts, s.color, s.size, s.dashed);
            break;
        }
        case SeriesKind::vline: {
            float x = p.px(s.x[0]);
            std::vector<Point> pts = {{x, static_cast<float>(clip.y1)}, {x, static_cast<float>(clip.y0)}};
            draw_polyline(cv, clip, pts, s.color, s.size, s.dashed);
            break;
        }
    }
}

// ---- frame, ticks and labels ----

bool inside(float v, int lo, int hi) {
    return v >= lo && v < hi;
}

void draw_grid(Canvas& cv, const Panel& p) {
    const Rect& r = p.plot;
    for (double v : p.xticks.major) {
        float x = p.px(v);
        if (inside(x, r.x0 + 1, r.x1 - 1))
            fill_rect(cv, {static_cast<int>(x), r.y0, static_cast<int>(x) + 1, r.y1}, kGrid);
    }
    for (double v : p.yticks.major) {
        float y = p.py(v);
        if (inside(y, r.y0 + 1, r.y1 - 1))
            fill_rect(cv, {r.x0, static_cast<int>(y), r.x1, static_cast<int>(y) + 1}, kGrid);
    }
}

// A one-pixel outline along the inside of r.
void draw_frame(Canvas& cv, const Rect& r, Color c) {
    fill_rect(cv, {r.x0, r.y0, r.x1, r.y0 + 1}, c);
    fill_rect(cv, {r.x0, r.y1 - 1, r.x1, r.y1}, c);
    fill_rect(cv, {r.x0, r.y0 + 1, r.x0 + 1, r.y1 - 1}, c);
    fill_rect(cv, {r.x1 - 1, r.y0 + 1, r.x1, r.y1 - 1}, c);
}

void draw_x_ticks(Canvas& cv, const Panel& p) {
    const Rect& r = p.plot;
    for (size_t i = 0; i < p.xticks.major.size(); ++i) {
        float x = p.px(p.xticks.major[i]);
        if (!inside(x, r.x0, r.x1)) continue;
        int col = static_cast<int>(x);
        fill_rect(cv, {col, r.y1, col + 1, r.y1 + kTickLength}, kSpine);
        // Keep the label inside the panel: the last one may be wider than the right margin.
        const std::string& label = p.xticks.labels[i];
        float centre = keep_inside(col + 0.5f, text_width(label, kTickEm), p.cell.x0 + 2.f, p.cell.x1 - 2.f);
        draw_text(cv, label, centre, static_cast<float>(r.y1 + kTickLength + kTickGap), kTickEm, kInk, 0.5f, 0.f);
    }
}

void draw_y_ticks(Canvas& cv, const Panel& p) {
    const Rect& r = p.plot;
    for (size_t i = 0; i < p.yticks.major.size(); ++i) {
        float y = p.py(p.yticks.major[i]);
        if (!inside(y, r.y0, r.y1)) continue;
        int row = static_cast<int>(y);
        fill_rect(cv, {r.x0 - kTickLength, row, r.x0, row + 1}, kSpine);
        draw_text(cv, p.yticks.labels[i], static_cast<float>(r.x0 - kTickLength - kTickGap), row + 0.5f, kTickEm, kInk,
                  1.f, 0.5f);
    }
    for (double v : p.yticks.minor) {
        float y = p.py(v);
        if (inside(y, r.y0, r.y1))
            fill_rect(cv, {r.x0 - 2, static_cast<int>(y), r.x0, static_cast<int>(y) + 1}, kSpine);
    }
}

// Title above, xlabel below, ylabel turned on the left; each shrunk if the panel is too narrow
// for it, and moved to stay inside the panel.
void draw_panel_labels(Canvas& cv, const AxesState& ax, const Panel& p) {
    const Rect& r = p.plot;
    const Rect& cell = p.cell;
    auto centred_x = [&](const std::string& text, float em) {
        return keep_inside(0.5f * (r.x0 + r.x1), text_width(text, em), cell.x0 + 2.f, cell.x1 - 2.f);
    };
    float title_em = fitting_em({ax.title}, kTitleEm, cell.width() - 8.f);
    draw_text(cv, ax.title, centred_x(ax.title, title_em), static_cast<float>(r.y0 - 6), title_em, kInk, 0.5f, 1.f);
    float xlabel_em = fitting_em({ax.xlabel}, kLabelEm, cell.width() - 8.f);
    float below_ticks = r.y1 + kTickLength + kTickGap + line_height(kTickEm) + 4.f;
    draw_text(cv, ax.xlabel, centred_x(ax.xlabel, xlabel_em), below_ticks, xlabel_em, kInk, 0.5f, 0.f);
    float ylabel_em = fitting_em({ax.ylabel}, kLabelEm, cell.height() - 8.f);
    float centre_y = keep_inside(0.5f * (r.y0 + r.y1), text_width(ax.ylabel, ylabel_em), cell.y0 + 2.f, cell.y1 - 2.f);
    draw_text(cv, ax.ylabel, static_cast<float>(cell.x0 + 8), centre_y, ylabel_em, kInk, 0.f, 0.5f, true);
}

// ---- legend ----

bool legend_wanted(const AxesState& ax) {
    if (ax.legend == 0) return false;
    for (const Series& s : ax.series)
        if (!s.label.empty()) return true;
    return false;
}

// How much of what is drawn lies under `box`: one per point or line vertex, one per 16 pixels of
// bar area. The legend goes to the corner that hides least.
int clutter_under(const Panel& p, const std::vector<Series>& series, const Rect& box) {
    int count = 0;
    auto tally = [&](Point q) {
        count += finite_point(q) && inside(q.x, box.x0, box.x1) && inside(q.y, box.y0, box.y1);
    };
    for (const Series& s : series) {
        switch (s.kind) {
            case SeriesKind::points:
            case SeriesKind::polyline:
                for (size_t i = 0; i < s.x.size(); ++i) tally(p.to_pixel(s.x[i], s.y[i]));
                break;
            case SeriesKind::bars: {
                float base = p.logy ? static_cast<float>(p.plot.y1) : p.py(0.0);
                for (size_t i = 0; i + 1 < s.x.size(); ++i) {
                    float top = p.py(axis_y(s.y[i], p.logy));
                    if (!std::isfinite(top)) continue;
                    float area = overlap(p.px(s.x[i]), p.px(s.x[i + 1]), static_cast<float>(box.x0),
                                         static_cast<float>(box.x1)) *
                                 overlap(std::min(top, base), std::max(top, base), static_cast<float>(box.y0),
                                         static_cast<float>(box.y1));
                    count += static_cast<int>(area / 16.f);
                }
                break;
            }
            case SeriesKind::hline:
            case SeriesKind::vline:
                for (int k = 0; k <= 20; ++k) {
                    float t = k / 20.f;
                    if (s.kind == SeriesKind::hline)
                        tally({p.plot.x0 + t * p.plot.width(), p.py(axis_y(s.y[0], p.logy))});
                    else
                        tally({p.px(s.x[0]), p.plot.y0 + t * p.plot.height()});
                }
                break;
        }
    }
    return count;
}

// The small sample of a series shown in front of its legend label, centred on (x, y).
void draw_legend_swatch(Canvas& cv, const Series& s, float x, float y) {
    // Very faint series (alpha ~ 0.05 for thousands of paths) would vanish in the legend.
    Color c = with_alpha(s.color, std::max<int>(s.color.a, 170));
    Rect anywhere = whole(cv);
    switch (s.kind) {
        case SeriesKind::points:
            fill_disc(cv, anywhere, {x, y}, std::clamp(s.size, 2.5f, 5.f), c);
            break;
        case SeriesKind::bars:
            cover_rect(cv, anywhere, x - 8.f, y - 5.f, x + 8.f, y + 5.f);
            blend_mask(cv, c);
            break;
        default:
            draw_polyline(cv, anywhere, {{x - 11.f, y}, {x + 11.f, y}}, c, std::max(s.size, 1.5f), s.dashed);
            break;
    }
}

void draw_legend(Canvas& cv, const Panel& p, const std::vector<Series>& series) {
    std::vector<const Series*> entries;
    std::vector<std::string> labels;
    for (const Series& s : series) {
        if (s.label.empty()) continue;
        entries.push_back(&s);
        labels.push_back(s.label);
    }
    const int pad = 6, swatch = 22, gap = 6, inset = 8;
    int row_h = static_cast<int>(std::ceil(line_height(kLegendEm))) + 2;
    int w = pad + swatch + gap + static_cast<int>(std::ceil(widest(labels, kLegendEm))) + pad;
    int h = 2 * pad + row_h * static_cast<int>(entries.size());
    const Rect& r = p.plot;
    // Candidate corners in order of preference: upper right, upper left, lower left, lower right.
    const Rect corners[4] = {{r.x1 - inset - w, r.y0 + inset, r.x1 - inset, r.y0 + inset + h},
                             {r.x0 + inset, r.y0 + inset, r.x0 + inset + w, r.y0 + inset + h},
                             {r.x0 + inset, r.y1 - inset - h, r.x0 + inset + w, r.y1 - inset},
                             {r.x1 - inset - w, r.y1 - inset - h, r.x1 - inset, r.y1 - inset}};
    Rect box = corners[0];
    int fewest = clutter_under(p, series, box);
    for (int i = 1; i < 4 && fewest > 0; ++i) {
        int n = clutter_under(p, series, corners[i]);
        if (n < fewest) {
            fewest = n;
            box = corners[i];
        }
    }
    fill_rect(cv, box, with_alpha(colors::white, 225));
    draw_frame(cv, box, kLegendEdge);
    for (size_t i = 0; i < entries.size(); ++i) {
        float centre_y = box.y0 + pad + row_h * (i + 0.5f);
        draw_legend_swatch(cv, *entries[i], box.x0 + pad + 0.5f * swatch, centre_y);
        draw_text(cv, labels[i], static_cast<float>(box.x0 + pad + swatch + gap), centre_y, kLegendEm, kInk, 0.f, 0.5f);
    }
}

// ---- image panels and grids ----

// [lo, hi] -> 0..255, clamped; NaN gives -1 so the caller can flag it.
int to_byte(float v, float lo, float hi) {
    if (std::isnan(v)) return -1;
    float t = std::clamp((v - lo) / (hi - lo), 0.f, 1.f);
    return static_cast<int>(std::lround(t * 255.f));
}

const Color kNanColor = {255, 0, 0};  // a NaN pixel should jump out, not pass for black

Color gray_pixel(float v, float lo, float hi) {
    int g = to_byte(v, lo, hi);
    return g < 0 ? kNanColor : rgb(g, g, g);
}

// An image panel: the picture as large as fits with its aspect kept (whole-pixel zoom when
// enlarging, so every source pixel is the same size), the title above, the xlabel below.
void render_image_panel(Canvas& cv, const AxesState& ax, const Rect& cell) {
    int top = title_band(ax), bottom = ax.xlabel.empty() ? 10 : static_cast<int>(std::ceil(line_height(kLabelEm))) + 14;
    int avail_w = std::max(1, cell.width() - 20), avail_h = std::max(1, cell.height() - top - bottom);
    double zoom = std::min(static_cast<double>(avail_w) / ax.image_w, static_cast<double>(avail_h) / ax.image_h);
    if (zoom >= 1.0) zoom = std::floor(zoom);
    int w = std::max(1, static_cast<int>(ax.image_w * zoom)), h = std::max(1, static_cast<int>(ax.image_h * zoom));
    int x0 = cell.x0 + (cell.width() - w) / 2, y0 = cell.y0 + top + (avail_h - h) / 2;
    for (int y = 0; y < h; ++y) {
        int sy = std::min(ax.image_h - 1, static_cast<int>((y + 0.5) / zoom));
        for (int x = 0; x < w; ++x) {
            int sx = std::min(ax.image_w - 1, static_cast<int>((x + 0.5) / zoom));
            float v = ax.image[static_cast<size_t>(sy) * ax.image_w + sx];
            fill_rect(cv, {x0 + x, y0 + y, x0 + x + 1, y0 + y + 1}, gray_pixel(v, ax.image_lo, ax.image_hi));
        }
    }
    draw_frame(cv, {x0 - 1, y0 - 1, x0 + w + 1, y0 + h + 1}, kGrid);
    float title_em = fitting_em({ax.title}, kTitleEm, cell.width() - 8.f);
    float xlabel_em = fitting_em({ax.xlabel}, kLabelEm, cell.width() - 8.f);
    draw_text(cv, ax.title, x0 + 0.5f * w, static_cast<float>(y0 - 7), title_em, kInk, 0.5f, 1.f);
    draw_text(cv, ax.xlabel, x0 + 0.5f * w, static_cast<float>(y0 + h + 6), xlabel_em, kInk, 0.5f, 0.f);
}

void render_axes(Canvas& cv, const AxesState& ax, const Rect& cell) {
    if (!ax.image.empty()) {
        render_image_panel(cv, ax, cell);
        return;
    }
    Panel p = layout_panel(ax, cell);
    draw_grid(cv, p);
    for (const Series& s : ax.series) draw_series(cv, p, s);
    draw_frame(cv, p.plot, kSpine);
    draw_x_ticks(cv, p);
    draw_y_ticks(cv, p);
    draw_panel_labels(cv, ax, p);
    if (legend_wanted(ax)) draw_legend(cv, p, ax.series);
}

void check_same_size(const char* who, size_t nx, size_t ny) {
    if (nx != ny)
        throw std::runtime_error(std::string(who) + ": x has " + std::to_string(nx) + " values but y has " +
                                 std::to_string(ny));
}

}  // namespace

// ---- Axes: recording what is drawn ----

void Axes::scatter(const std::vector<float>& x, const std::vector<float>& y, Color c, float radius,
                   const std::string& label) {
    check_same_size("Axes::scatter", x.size(), y.size());
    Series s;
    s.kind = SeriesKind::points;
    s.x = x;
    s.y = y;
    s.color = c;
    s.size = radius;
    s.label = label;
    state_.series.push_back(std::move(s));
}

void Axes::scatter(const std::vector<float>& x, const std::vector<float>& y, const std::vector<Color>& per_point,
                   float radius) {
    check_same_size("Axes::scatter", x.size(), y.size());
    if (per_point.size() != x.size())
        throw std::runtime_error("Axes::scatter: " + std::to_string(x.size()) + " points but " +
                                 std::to_string(per_point.size()) + " colours");
    scatter(x, y, colors::black, radius);
    state_.series.back().point_colors = per_point;
}

void Axes::line(const std::vector<float>& x, const std::vector<float>& y, Color c, float width,
                const std::string& label) {
    check_same_size("Axes::line", x.size(), y.size());
    Series s;
    s.kind = SeriesKind::polyline;
    s.x = x;
    s.y = y;
    s.color = c;
    s.size = width;
    s.label = label;
    state_.series.push_back(std::move(s));
}

void Axes::hist(const std::vector<float>& values, int bins, Color c, bool density, const std::string& label, float lo,
                float hi) {
    if (bins < 1) throw std::runtime_error("Axes::hist: bins must be at least 1, got " + std::to_string(bins));
    Extent data;
    for (float v : values) data.add(v);
    if (std::isnan(lo)) lo = data.empty() ? 0.f : static_cast<float>(data.lo);
    if (std::isnan(hi)) hi = data.empty() ? 1.f : static_cast<float>(data.hi);
    if (!std::isfinite(lo) || !std::isfinite(hi) || lo > hi)
        throw std::runtime_error("Axes::hist: need a finite range lo <= hi, got " + std::to_string(lo) + " and " +
                                 std::to_string(hi));
    if (lo == hi) {  // all values equal: one unit-wide range around them
        lo -= 0.5f;
        hi += 0.5f;
    }
    std::vector<double> counts(bins, 0.0);
    double total = 0.0;
    for (float v : values) {
        if (!(v >= lo && v <= hi)) continue;  // also skips NaN
        int b =
            std::min(bins - 1, static_cast<int>((static_cast<double>(v) - lo) / (static_cast<double>(hi) - lo) * bins));
        counts[b] += 1.0;
        total += 1.0;
    }
    Series s;
    s.kind = SeriesKind::bars;
    s.color = c;
    s.label = label;
    double bin_width = (static_cast<double>(hi) - lo) / bins;
    if (total > 0.0) {  // no values: no bars, so an empty panel keeps its 0..1 axes
        for (int b = 0; b <= bins; ++b) s.x.push_back(static_cast<float>(lo + b * bin_width));
        for (double n : counts) s.y.push_back(static_cast<float>(density ? n / (total * bin_width) : n));
    }
    state_.series.push_back(std::move(s));
}

void Axes::hline(float y, Color c, float width, bool dashed, const std::string& label) {
    Series s;
    s.kind = SeriesKind::hline;
    s.y = {y};
    s.color = c;
    s.size = width;
    s.dashed = dashed;
    s.label = label;
    state_.series.push_back(std::move(s));
}

void Axes::vline(float x, Color c, float width, bool dashed, const std::string& label) {
    Series s;
    s.kind = SeriesKind::vline;
    s.x = {x};
    s.color = c;
    s.size = width;
    s.dashed = dashed;
    s.label = label;
    state_.series.push_back(std::move(s));
}

void Axes::image(const float* pixels, int h, int w, float lo, float hi) {
    if (pixels == nullptr || h < 1 || w < 1)
        throw std::runtime_error("Axes::image: need pixels and h, w >= 1, got h = " + std::to_string(h) +
                                 ", w = " + std::to_string(w));
    if (!(hi > lo)) throw std::runtime_error("Axes::image: need lo < hi");
    state_.image.assign(pixels, pixels + static_cast<size_t>(h) * w);
    state_.image_h = h;
    state_.image_w = w;
    state_.image_lo = lo;
    state_.image_hi = hi;
}

void Axes::title(const std::string& text) {
    state_.title = text;
}
void Axes::xlabel(const std::string& text) {
    state_.xlabel = text;
}
void Axes::ylabel(const std::string& text) {
    state_.ylabel = text;
}

void Axes::xlim(float lo, float hi) {
    if (!std::isfinite(lo) || !std::isfinite(hi) || !(lo < hi))
        throw std::runtime_error("Axes::xlim: need finite lo < hi, got " + std::to_string(lo) + " and " +
                                 std::to_string(hi));
    state_.has_xlim = true;
    state_.xlim_lo = lo;
    state_.xlim_hi = hi;
}

void Axes::ylim(float lo, float hi) {
    if (!std::isfinite(lo) || !std::isfinite(hi) || !(lo < hi))
        throw std::runtime_error("Axes::ylim: need finite lo < hi, got " + std::to_string(lo) + " and " +
                                 std::to_string(hi));
    state_.has_ylim = true;
    state_.ylim_lo = lo;
    state_.ylim_hi = hi;
}

void Axes::logy(bool on) {
    state_.logy = on;
}
void Axes::equal_aspect(bool on) {
    state_.equal_aspect = on;
}
void Axes::legend(bool on) {
    state_.legend = on ? 1 : 0;
}

// ---- Figure ----

Figure::Figure(int rows, int cols, int panel_w, int panel_h)
    : rows_(rows), cols_(cols), panel_w_(panel_w), panel_h_(panel_h) {
    if (rows < 1 || cols < 1 || panel_w < 50 || panel_h < 50)
        throw std::runtime_error("Figure: need rows, cols >= 1 and panels of at least 50 x 50 pixels");
    axes_.resize(static_cast<size_t>(rows) * cols);
}

Axes& Figure::at(int row, int col) {
    if (row < 0 || row >= rows_ || col < 0 || col >= cols_)
        throw std::runtime_error("Figure::at(" + std::to_string(row) + ", " + std::to_string(col) +
                                 "): the figure has " + std::to_string(rows_) + " x " + std::to_string(cols_) +
                                 " panels");
    return axes_[static_cast<size_t>(row) * cols_ + col];
}

void Figure::suptitle(const std::string& text) {
    suptitle_ = text;
}

void Figure::save(const std::string& path) const {
    int top = suptitle_.empty() ? 0 : static_cast<int>(std::ceil(line_height(kSuptitleEm))) + 14;
    Canvas cv(cols_ * panel_w_, top + rows_ * panel_h_);
    draw_text(cv, suptitle_, 0.5f * cv.width, 10.f, fitting_em({suptitle_}, kSuptitleEm, cv.width - 8.f), kInk, 0.5f,
              0.f);
    for (int r = 0; r < rows_; ++r) {
        for (int c = 0; c < cols_; ++c) {
            Rect cell{c * panel_w_, top + r * panel_h_, (c + 1) * panel_w_, top + (r + 1) * panel_h_};
            render_axes(cv, axes_[static_cast<size_t>(r) * cols_ + c].state_, cell);
        }
    }
    write_png(path, cv);
}

// ---- save_image_grid ----

namespace {

// Image i of (n, c, h, w) at pixel (y, x) as a colour; NaN in any channel shows red.
Color grid_pixel(const float* images, int i, int c, int h, int w, int y, int x, float lo, float hi) {
    size_t plane = static_cast<size_t>(h) * w;
    const float* first = images + static_cast<size_t>(i) * c * plane + static_cast<size_t>(y) * w + x;
    if (c == 1) return gray_pixel(first[0], lo, hi);
    int r = to_byte(first[0], lo, hi), g = to_byte(first[plane], lo, hi), b = to_byte(first[2 * plane], lo, hi);
    return r < 0 || g < 0 || b < 0 ? kNanColor : rgb(r, g, b);
}

}  // namespace

void save_image_grid(const std::string& path, const float* images, int n, int c, int h, int w, int cols, float lo,
                     float hi, int scale, const std::vector<std::string>& row_labels,
                     const std::vector<std::string>& col_labels) {
    auto fail = [&](const std::string& problem) { throw std::runtime_error(path + ": save_image_grid: " + problem); };
    if (images == nullptr || n < 1) fail("no images");
    if (c != 1 && c != 3) fail("c must be 1 (grayscale) or 3 (RGB), got " + std::to_string(c));
    if (h < 1 || w < 1 || cols < 1 || scale < 1) fail("need h, w, cols, scale >= 1");
    if (!(hi > lo)) fail("need lo < hi");
    int rows = (n + cols - 1) / cols;
    if (!row_labels.empty() && static_cast<int>(row_labels.size()) != rows)
        fail(std::to_string(row_labels.size()) + " row labels for " + std::to_string(rows) + " rows");
    if (!col_labels.empty() && static_cast<int>(col_labels.size()) != cols)
        fail(std::to_string(col_labels.size()) + " column labels for " + std::to_string(cols) + " columns");

    const int gap = 2;
    int cell_w = w * scale, cell_h = h * scale;
    float col_em = fitting_em(col_labels, kGridLabelEm, cell_w + gap - 2.f);
    int left = row_labels.empty() ? gap : gap + static_cast<int>(std::ceil(widest(row_labels, kGridLabelEm))) + 8;
    int top = col_labels.empty() ? gap : gap + static_cast<int>(std::ceil(line_height(col_em))) + 4;
    Canvas cv(left + cols * (cell_w + gap), top + rows * (cell_h + gap));

    for (int i = 0; i < n; ++i) {
        int x0 = left + (i % cols) * (cell_w + gap), y0 = top + (i / cols) * (cell_h + gap);
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x)
                fill_rect(cv, {x0 + x * scale, y0 + y * scale, x0 + (x + 1) * scale, y0 + (y + 1) * scale},
                          grid_pixel(images, i, c, h, w, y, x, lo, hi));
    }
    for (int r = 0; r < static_cast<int>(row_labels.size()); ++r)
        draw_text(cv, row_labels[r], static_cast<float>(left - 6), top + r * (cell_h + gap) + 0.5f * cell_h,
                  kGridLabelEm, kInk, 1.f, 0.5f);
    for (int k = 0; k < static_cast<int>(col_labels.size()); ++k)
        draw_text(cv, col_labels[k], left + k * (cell_w + gap) + 0.5f * cell_w, static_cast<float>(top - 3), col_em,
                  kInk, 0.5f, 1.f);
    write_png(path, cv);
}

}  // namespace ddpm::plot
