// torch_parity.h: what the PyTorch parity tests share: finding a python3 with torch, and the text
// format of the numbers passed to and from tests/bench/*_torch.py (a block: "name rows cols" and
// then rows * cols values, %.9g).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace torch_parity {

// The first python3 that can import torch: the one on PATH, else Debian's (where python3-torch goes).
inline std::string python_with_torch() {
    for (const char* py : {"python3", "/usr/bin/python3"}) {
        const std::string probe = std::string(py) + " -c 'import torch' >/dev/null 2>&1";
        if (std::system(probe.c_str()) == 0) return py;
    }
    return "";
}

struct Block {
    int rows = 0, cols = 0;
    std::vector<double> values;
};

inline void write_block(std::ofstream& out, const std::string& name, int rows, int cols, const float* v) {
    out << name << ' ' << rows << ' ' << cols << '\n';
    char buf[32];
    for (int64_t i = 0; i < int64_t(rows) * cols; ++i) {
        std::snprintf(buf, sizeof buf, "%.9g", double(v[i]));
        out << buf << (i + 1 == int64_t(rows) * cols ? '\n' : ' ');
    }
}

inline std::map<std::string, Block> read_blocks(const std::string& path) {
    std::ifstream in(path);
    std::map<std::string, Block> blocks;
    std::string name;
    while (in >> name) {
        Block b;
        in >> b.rows >> b.cols;
        b.values.resize(size_t(b.rows) * size_t(b.cols));
        for (double& v : b.values) in >> v;
        if (!in) break;
        blocks[name] = std::move(b);
    }
    return blocks;
}

}  // namespace torch_parity
