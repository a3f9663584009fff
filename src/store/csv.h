// csv.h: CSV files of numbers, the format of the ddpm tool (format and every error: data/README.md).
//
//   Line 1 is a header when none of its fields reads as a number and at least one is a name ("x",
//   "label"); a line 1 that mixes names and numbers ("1.2.3,4", "12abc,4") is an error naming the
//   line, not a header silently dropped. A line of numbers only is data: a header of numbers cannot
//   be told from data. Header names hold no control byte and at most kMaxHeaderName bytes.
//   Then rows of numbers separated by commas; spaces around fields, CRLF and blank lines at the end
//   are allowed. Every problem is ONE line "<path>:<line>: <problem>" or "<path>: <problem>".
//   A file has at most setting::columns.hi columns and kMaxCsvValues values (settings.h), checked
//   as it is read, so that no file can ask for more memory than that.
//   Writing: atomic (write_file_atomic), "%.9g" so that every float reads back to the same bits, the
//   header line when there is one; whatever the reader would refuse (or read differently) is refused.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "diffusion/data.h"

namespace ddpm {

// Reads `path` once (a regular file of at most kMaxInputBytes). name = the file's name without its
// folder; header = line 1's names, or empty; colour is empty. max_rows < 0: no limit beyond the values'.
Dataset load_csv(const std::string& path, int64_t max_rows = -1);
// The same from the bytes of a file; `path` names it in every error (and is the Dataset's name).
// The tool reads its files itself (src/app/) and calls this; so does the fuzzer (tests/fuzz/fuzz_csv.cpp).
Dataset parse_csv(const std::string& bytes, const std::string& path, int64_t max_rows = -1);

// d.header (or `header`, when given) becomes line 1.
void save_csv(const std::string& path, const Dataset& d, const std::vector<std::string>& header = {});

// Why `names` cannot be the header line of a file of `columns` columns that parse_csv reads back as
// these names, or "" when they can: a comma, a control byte, a name too long, a name that reads as a
// number, or no name at all. Used by save_csv and by the tool on the header stored in a checkpoint.
std::string header_problem(const std::vector<std::string>& names, int columns);

}  // namespace ddpm
