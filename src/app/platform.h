// platform.h: the ddpm tool's calls that only POSIX systems (Linux here) have, all in platform.cpp:
// file identities (device and inode), reading a file through one open descriptor, the advisory lock
// on an output (flock), process ids for temporary names, and the SIGINT/SIGTERM handlers.
//
// Portability: on a system without them (Windows), platform.cpp is the one file to replace: identities
// from GetFileInformationByHandle, LockFileEx for flock, SetConsoleCtrlHandler for the signals; every
// caller depends only on this header. A fallback in standard C++ alone would be: std::filesystem::
// equivalent for the identity, std::filesystem::status before reading (a FIFO could then still be
// swapped in between), a lock file created exclusively (std::fopen mode "wx"; a SIGKILL then leaves it
// to be removed by hand), std::signal with a flag for the handlers, and a random tag for the
// temporary names (the default of core/io.h), whose leftovers no later run could tell from a user's.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ddpm {

// Which file a path is: the same (device, inode) is the same file under any name or link.
struct FileId {
    bool known = false;
    uint64_t device = 0, inode = 0;
    bool operator==(const FileId& o) const { return known && o.known && device == o.device && inode == o.inode; }
};

// The whole of an input file, read through one descriptor: opened without blocking (a FIFO cannot
// hang the run), refused unless it is a regular file (no FIFO, device such as /dev/zero, socket or
// folder), and refused above max_bytes before a byte is read. `id` receives the file's identity.
std::string read_input(const std::string& path, int64_t max_bytes, FileId* id);

// The identity of `path` if it exists (and is not a dangling name).
FileId file_id(const std::string& path);

// An output path must be a regular file or not exist: a folder, a device (/dev/null, /dev/full), a
// FIFO, a socket or a symbolic link is refused, before any work.
void check_output_kind(const std::string& path);

// An advisory lock (flock) on "<path>.ddpm-lock", held for the life of the object: a second run that
// would write the same output is refused with one line at once. The lock file is removed again.
// Fails with one line when `path` could not be replaced by a rename: its folder or the file itself is
// immutable or append-only (chattr +i, +a; issue 33.8). Said before any work, and before the lock
// file is made. File systems without these attributes pass.
void check_replaceable(const std::string& path);

class OutputLock {
 public:
    OutputLock(const std::string& path, const std::string& command);
    ~OutputLock();
    OutputLock(const OutputLock&) = delete;
    OutputLock& operator=(const OutputLock&) = delete;

 private:
    std::string lock_path_;
    int fd_ = -1;
    // The folders that were made for the output, deepest first: removed again when the run ends and
    // they are empty (a run that failed leaves no folder behind; one that wrote its file keeps them).
    std::vector<std::string> made_dirs_;
};

// Temporary names of this process carry its id ("<path>.ddpm-<pid>-<n>.tmp", core/io.h). Removes
// the temporary files of `path` left by ddpm runs that no longer exist (a SIGKILL in the middle of a
// write); a temporary file of a running process, or any other file (a user's <path>.tmp), stays.
void use_process_temp_names();
void remove_stale_temp_files(const std::string& path);

// SIGINT and SIGTERM, from construction to destruction. Until defer() a signal ends the program at
// once: the temporary file being written (if any) and the lock file are removed, `stopped_line` is
// printed and the exit status is 128 + the signal. After defer(), a signal only sets a flag that
// received() returns (the training loop saves and stops between steps). SA_RESETHAND: a second
// signal stops the program on the spot. A signal that was ignored when the program started (SIGINT
// for a shell's background job) stays ignored.
class StopSignals {
 public:
    // stopped_line: the line printed when a signal ends the run before defer(), with "%s" for the
    // signal's name, e.g. "ddpm sample: %s: stopped; out.csv was not written".
    explicit StopSignals(const std::string& stopped_line);
    ~StopSignals();
    StopSignals(const StopSignals&) = delete;
    StopSignals& operator=(const StopSignals&) = delete;
    void defer();
    int received() const;

 private:
    struct Saved;
    Saved* saved_;
};

// A program started with stdin, stdout or stderr closed would hand that descriptor to the next file
// it opens (the lock file, a model), and its messages would be written into that file: each closed
// one of the three is opened on /dev/null first (issue 33.22).
void keep_standard_streams_open();

const char* signal_name(int signal);  // "SIGINT", "SIGTERM", "SIGHUP"

}  // namespace ddpm
