// one_line.h: what every fuzz target asks of an error message.
#pragma once

#include <string>

namespace fuzzing {

// One line that starts with the file's name: no byte below 32 (a line break, a carriage return...)
// and no DEL.
inline bool one_line_naming(const std::string& message, const std::string& source) {
    if (message.compare(0, source.size(), source) != 0) return false;
    for (char c : message)
        if ((unsigned char)c < 32 || c == 127) return false;
    return true;
}

}  // namespace fuzzing
