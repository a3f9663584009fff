// The POSIX (Linux) calls of the ddpm tool; platform.h says what replaces them elsewhere.
#include "app/platform.h"

#include <dirent.h>
#include <fcntl.h>
#ifdef __linux__
#include <linux/fs.h>  // FS_IOC_GETFLAGS: the attributes of chattr(1)
#include <sys/ioctl.h>
#endif
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/common.h"
#include "core/io.h"

namespace ddpm {

namespace {

const char* kind_of(mode_t mode) {
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISLNK(mode)) return "a symbolic link";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    return "not a regular file";
}

// Names a signal handler may use: copied in before they are needed, never freed.
char g_lock_path[4096];
char g_stopped[3][512];  // the lines for SIGINT, SIGTERM and SIGHUP
volatile std::sig_atomic_t g_deferred = 0;
volatile std::sig_atomic_t g_signal = 0;

void copy_for_handler(char* dest, size_t size, const std::string& text) {
    const size_t n = std::min(text.size(), size - 1);
    std::memcpy(dest, text.data(), n);
    dest[n] = '\0';
}

// A line for the handler to print: cut to fit, but always ending in its line break.
void copy_line_for_handler(char* dest, size_t size, const std::string& line) {
    copy_for_handler(dest, size - 1, line);
    const size_t n = std::strlen(dest);
    dest[n] = '\n';
    dest[n + 1] = '\0';
}

extern "C" void on_stop_signal(int signal) {
    g_signal = signal;
    if (g_deferred) return;
    // Only async-signal-safe calls from here on.
    const char* tmp = temp_file_in_progress();
    if (tmp[0] != '\0') unlink(tmp);
    if (g_lock_path[0] != '\0') unlink(g_lock_path);
    const char* line = g_stopped[signal == SIGINT ? 0 : signal == SIGTERM ? 1 : 2];
    size_t n = 0;
    while (line[n] != '\0') ++n;
    ssize_t ignored = write(2, line, n);
    (void)ignored;
    _exit(128 + signal);
}

}  // namespace

void keep_standard_streams_open() {
    for (int fd = 0; fd <= 2; ++fd) {
        if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
        const int null = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
        if (null >= 0 && null != fd) {  // open takes the lowest free descriptor: fd itself, here
            dup2(null, fd);
            close(null);
        }
    }
}

const char* signal_name(int signal) {
    return signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : signal == SIGHUP ? "SIGHUP" : "a signal";
}

// ---- files ---------------------------------------------------------------------------------------
FileId file_id(const std::string& path) {
    FileId id;
    struct stat st {};
    if (stat(path.c_str(), &st) == 0) {
        id.known = true;
        id.device = uint64_t(st.st_dev);
        id.inode = uint64_t(st.st_ino);
    }
    return id;
}

std::string read_input(const std::string& path, int64_t max_bytes, FileId* id) {
    const int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) fail(path + ": cannot open: " + std::strerror(errno));
    struct Closer {
        int fd;
        ~Closer() { close(fd); }
    } closer{fd};
    struct stat st {};
    if (fstat(fd, &st) != 0) fail(path + ": cannot read: " + std::strerror(errno));
    if (S_ISDIR(st.st_mode)) fail(path + ": is a directory, not a file");
    if (!S_ISREG(st.st_mode))
        fail(path + ": is " + kind_of(st.st_mode) + ", not a regular file; only regular files are read");
    if (int64_t(st.st_size) > max_bytes)
        fail(path + ": " + std::to_string(int64_t(st.st_size)) + " bytes; the most that is read is " +
             std::to_string(max_bytes));
    if (id) {
        id->known = true;
        id->device = uint64_t(st.st_dev);
        id->inode = uint64_t(st.st_ino);
    }
    std::string bytes;
    bytes.reserve(size_t(st.st_size));
    char buf[1 << 16];
    while (true) {
        const ssize_t got = read(fd, buf, sizeof buf);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) fail(path + ": read error: " + std::strerror(errno));
        if (got == 0) break;
        bytes.append(buf, size_t(got));
        if (int64_t(bytes.size()) > max_bytes)  // the file grew while it was read
            fail(path + ": more than " + std::to_string(max_bytes) + " bytes, the most that is read");
    }
    return bytes;
}

void check_output_kind(const std::string& path) {
    struct stat st {};
    if (lstat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) return;  // a new file (its folder is checked by check_writable)
        fail(path + ": cannot write: " + std::strerror(errno));
    }
    if (S_ISREG(st.st_mode)) return;
    if (S_ISDIR(st.st_mode)) fail(path + ": is a directory, not a file");
    fail(path + ": is " + kind_of(st.st_mode) + ", not a regular file; only regular files are written");
}

// ---- the lock -------------------------------------------------------------------------------------
namespace {

// The file attributes of chattr(1) that forbid a replacement: -1 when the file system does not say.
#ifndef __linux__
const long FS_APPEND_FL = 0, FS_IMMUTABLE_FL = 0;  // (elsewhere nothing is known of them)
#endif
long file_attributes(const std::string& path, bool folder) {
#ifdef __linux__
    const int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | (folder ? O_DIRECTORY : O_NOFOLLOW));
    if (fd < 0) return -1;
    int flags = 0;
    const int rc = ioctl(fd, FS_IOC_GETFLAGS, &flags);
    close(fd);
    return rc == 0 ? long(flags) : -1;
#else
    (void)path, (void)folder;
    return -1;
#endif
}

}  // namespace

void check_replaceable(const std::string& path) {
    const std::filesystem::path p(path);
    const std::string folder = p.has_parent_path() ? p.parent_path().string() : ".";
    const long in_folder = file_attributes(folder, true);
    if (in_folder >= 0 && (in_folder & (FS_APPEND_FL | FS_IMMUTABLE_FL)))
        fail(path + ": its folder " + folder + " is " + ((in_folder & FS_IMMUTABLE_FL) ? "immutable" : "append-only") +
             " (chattr), so no file in it can be written and renamed into place");
    struct stat st {};
    if (lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return;
    const long own = file_attributes(path, false);
    if (own >= 0 && (own & (FS_APPEND_FL | FS_IMMUTABLE_FL)))
        fail(path + ": is " + ((own & FS_IMMUTABLE_FL) ? "immutable" : "append-only") +
             " (chattr), so it cannot be replaced");
}

OutputLock::OutputLock(const std::string& path, const std::string& command)
    : lock_path_(side_file_stem(path) + ".ddpm-lock") {
    check_replaceable(path);  // before the lock file is made: in an append-only folder it could not be removed
    const std::filesystem::path p(path);
    if (p.has_parent_path()) {
        std::error_code ec;
        for (std::filesystem::path d = p.parent_path(); !d.empty() && !std::filesystem::exists(d, ec);
             d = d.parent_path()) {
            made_dirs_.push_back(d.string());
            if (d == d.parent_path()) break;
        }
        make_dirs(p.parent_path().string());
    }
    struct RemoveMadeDirs {  // when the constructor fails after making them
        std::vector<std::string>* dirs;
        ~RemoveMadeDirs() {
            if (dirs)
                for (const std::string& d : *dirs) rmdir(d.c_str());
        }
    } undo{&made_dirs_};
    // The lock file is removed by whoever holds it last: one opened just before that removal is no
    // longer the file at the path, so the identity is compared after locking, and the lock retaken.
    for (int attempt = 0; attempt < 100; ++attempt) {
        const int fd = open(lock_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0) fail(path + ": cannot create the lock file " + lock_path_ + ": " + std::strerror(errno));
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            const int e = errno;
            char pid[32] = {0};
            const ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
            close(fd);
            if (e == EWOULDBLOCK) {
                // the lock file holds "<pid> <command>"
                std::string holder = n > 0 ? std::string(pid, size_t(n)) : "";
                while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
                const size_t space = holder.find(' ');
                const std::string who = space == std::string::npos
                                            ? "another ddpm run"
                                            : "'ddpm " + shown(holder.substr(space + 1)) + "' (process " +
                                                  shown(holder.substr(0, space)) + ")";
                fail(path + ": " + who + " is writing it; wait for it to end, or choose another path");
            }
            fail(path + ": cannot lock " + lock_path_ + ": " + std::strerror(e));
        }
        struct stat held {}, named {};
        if (fstat(fd, &held) == 0 && stat(lock_path_.c_str(), &named) == 0 && held.st_dev == named.st_dev &&
            held.st_ino == named.st_ino) {
            fd_ = fd;
            break;
        }
        close(fd);
    }
    if (fd_ < 0) fail(path + ": cannot lock " + lock_path_ + " (it keeps being replaced)");
    // A file of the user's that happens to have the lock's name is not ours to empty or remove: a lock
    // file is empty (just created) or holds "<pid> <command>" (a run that held it, or one killed).
    {
        struct stat st {};
        char text[64] = {0};
        const ssize_t n = fstat(fd_, &st) == 0 && S_ISREG(st.st_mode) && st.st_size < 64 ? pread(fd_, text, 63, 0) : -1;
        const std::string held = n > 0 ? std::string(text, size_t(n)) : "";
        const size_t space = held.find(' ');
        const bool lock_like = n == 0 || (n > 0 && space != std::string::npos && space > 0 &&
                                          held.find_first_not_of("0123456789") == space &&
                                          held.find_first_not_of("abcdefghijklmnopqrstuvwxyz\n", space + 1) ==
                                              std::string::npos);
        if (!lock_like) {
            close(fd_);
            fd_ = -1;
            fail(path + ": " + lock_path_ + " exists and is not a ddpm lock file; move it, or choose another path");
        }
    }
    // From here on a signal handler removes the file, which says who holds it once it is written.
    copy_for_handler(g_lock_path, sizeof g_lock_path, lock_path_.size() < sizeof g_lock_path ? lock_path_ : "");
    const std::string pid = std::to_string(getpid()) + " " + command + "\n";
    if (ftruncate(fd_, 0) == 0) {
        ssize_t ignored = pwrite(fd_, pid.data(), pid.size(), 0);
        (void)ignored;
    }
    undo.dirs = nullptr;  // the lock is held: the destructor removes them
}

OutputLock::~OutputLock() {
    g_lock_path[0] = '\0';
    unlink(lock_path_.c_str());  // while still held: no other run can hold this file now
    close(fd_);
    for (const std::string& d : made_dirs_)  // deepest first; a folder that holds anything stays
        if (rmdir(d.c_str()) != 0) break;
}

// ---- temporary files ------------------------------------------------------------------------------
void use_process_temp_names() { set_temp_tag("ddpm-" + std::to_string(getpid())); }

void remove_stale_temp_files(const std::string& path) {
    const std::filesystem::path p(side_file_stem(path));
    const std::string folder = p.has_parent_path() ? p.parent_path().string() : ".";
    const std::string prefix = p.filename().string() + ".ddpm-";
    DIR* dir = opendir(folder.c_str());
    if (!dir) return;
    while (const dirent* entry = readdir(dir)) {
        const std::string name = entry->d_name;
        // exactly <file>.ddpm-<pid>-<n>.tmp
        if (name.compare(0, prefix.size(), prefix) != 0 || name.size() < prefix.size() + 4 ||
            name.compare(name.size() - 4, 4, ".tmp") != 0)
            continue;
        const std::string middle = name.substr(prefix.size(), name.size() - prefix.size() - 4);
        const size_t dash = middle.find('-');
        if (dash == 0 || dash == std::string::npos || dash + 1 == middle.size() || dash > 9) continue;
        if (middle.find_first_not_of("0123456789") != dash ||
            middle.find_first_not_of("0123456789", dash + 1) != std::string::npos)
            continue;
        const long pid = std::strtol(middle.substr(0, dash).c_str(), nullptr, 10);
        if (pid <= 0 || pid == long(getpid())) continue;
        if (kill(pid_t(pid), 0) == 0 || errno != ESRCH) continue;  // alive (or not ours to ask): kept
        const std::string victim = folder + "/" + name;
        struct stat st {};
        if (lstat(victim.c_str(), &st) == 0 && S_ISREG(st.st_mode)) unlink(victim.c_str());
    }
    closedir(dir);
}

// ---- signals --------------------------------------------------------------------------------------
struct StopSignals::Saved {
    struct sigaction old_int {}, old_term {}, old_hup {}, old_pipe {};
};

StopSignals::StopSignals(const std::string& stopped_line) : saved_(new Saved) {
    const char* names[3] = {"SIGINT", "SIGTERM", "SIGHUP"};
    for (int i = 0; i < 3; ++i) {
        std::string line = stopped_line;
        const size_t at = line.find("%s");
        if (at != std::string::npos) line.replace(at, 2, names[i]);
        copy_line_for_handler(g_stopped[i], sizeof g_stopped[i], shown(line, line.size()));
    }
    g_signal = 0;
    g_deferred = 0;
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART | SA_RESETHAND;  // (before defer() the handler does not return)
    // A signal the program was started with ignored stays ignored: a shell ignores SIGINT for a job it
    // starts in the background, and nohup ignores SIGHUP; Ctrl-C in the terminal is not for them.
    // SIGHUP (the terminal closed) is a stop like SIGTERM. SIGPIPE is ignored while the run lasts: a
    // reader of stdout or stderr that went away makes a write fail (EPIPE), which ends nothing, so the
    // run still finishes or saves; what did not reach stdout is reported at the end (cli.cpp).
    sigaction(SIGINT, nullptr, &saved_->old_int);
    sigaction(SIGTERM, nullptr, &saved_->old_term);
    sigaction(SIGHUP, nullptr, &saved_->old_hup);
    if (saved_->old_int.sa_handler != SIG_IGN) sigaction(SIGINT, &action, nullptr);
    if (saved_->old_term.sa_handler != SIG_IGN) sigaction(SIGTERM, &action, nullptr);
    if (saved_->old_hup.sa_handler != SIG_IGN) sigaction(SIGHUP, &action, nullptr);
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    sigaction(SIGPIPE, &ignore, &saved_->old_pipe);
}

StopSignals::~StopSignals() {  // the program (or a test runner calling run_train) gets its own handlers back
    sigaction(SIGINT, &saved_->old_int, nullptr);
    sigaction(SIGTERM, &saved_->old_term, nullptr);
    sigaction(SIGHUP, &saved_->old_hup, nullptr);
    sigaction(SIGPIPE, &saved_->old_pipe, nullptr);
    g_deferred = 0;
    delete saved_;
}

void StopSignals::defer() { g_deferred = 1; }

int StopSignals::received() const { return g_signal; }

}  // namespace ddpm
