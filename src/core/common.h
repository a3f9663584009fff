// common.h: errors shared by the whole project, and the two small helpers every program uses
// (parse_int for flags, Stopwatch for timings on stderr).
//
// Two ways to stop with a message:
//   fail(...)            bad input or a broken invariant; one line, naming what is wrong.
//   not_implemented(...) the stub left in the student tree where a solution region was removed.
// Both throw (never abort), so that the test runner can record a failure and go on, and a lesson's
// main() can print the one line and exit non-zero.
#pragma once

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace ddpm {

// Thrown by the stubs of the student tree: "not implemented: L01.2 (see lessons/01_forward/README.md)".
struct NotImplemented : std::runtime_error {
    explicit NotImplemented(const std::string& what) : std::runtime_error(what) {}
};

[[noreturn]] void not_implemented(const char* task_id, const char* where);
[[noreturn]] void fail(const std::string& message);

// Text from a file as it may appear inside a one-line message: cut to `max` bytes (ending in "..."),
// every control byte (a line break, a carriage return, ...) shown as '?'.
std::string shown(const std::string& text, size_t max = 40);
// text as one line for a terminal: control bytes and bytes that are not UTF-8 become '?', and text
// longer than max bytes keeps its first and last max / 2 bytes around " ... " (issue 33.18: a path
// with a newline, an escape sequence or 100 kB in it).
std::string terminal_text(const std::string& text, size_t max = 4096);

// Runs body(); prints any exception as one line "<program>: <message>" on stderr and returns 1
// (a control byte that reached the message anyway is printed as '?', so that it stays one line).
// Every main() of a lesson or tool goes through it.
int run_main(const char* program, int (*body)(int, char**), int argc, char** argv);

// Parses a whole number in [lo, hi]; `what` names it in the error.
int64_t parse_int(const std::string& text, int64_t lo, int64_t hi, const std::string& what);

// Wall-clock seconds since construction; for stderr only (never in a table).
class Stopwatch {
 public:
    Stopwatch() : start_(std::chrono::steady_clock::now()) {}
    double seconds() const {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    }

 private:
    std::chrono::steady_clock::time_point start_;
};

}  // namespace ddpm
