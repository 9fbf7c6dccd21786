/*
 * posix_os.c - bridge_test_os.h for Linux: the socket, eventfd, pipe and
 * file helpers bridge_test.c needs when it runs natively (under ASan, UBSan
 * and LeakSanitizer via tests/native/run_native_tests.py). Handles are fds.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bridge_test_os.h"

static int fd_of(const void *handle) { return (int)(intptr_t)handle; }

int wt_init(void) { return 0; }

int wt_socketpair(intptr_t *reader, intptr_t *writer, int nodelay) {
    (void)nodelay; /* no Nagle on AF_UNIX */
    int fds[2];
    /* Both non-blocking: the bridge's wake-up send() must never block an HCS
     * thread; a full buffer already means a wake-up is pending. */
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) return -1;
    *reader = fds[0];
    *writer = fds[1];
    return 0;
}

int wt_eventfd(intptr_t *fd) {
    int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (efd < 0) return -1;
    *fd = efd;
    return 0;
}

int wt_wait_readable(intptr_t sock, int timeout_ms) {
    struct pollfd p = {.fd = (int)sock, .events = POLLIN, .revents = 0};
    uint64_t deadline = wt_now_us() + (uint64_t)timeout_ms * 1000;
    for (;;) {
        int n = poll(&p, 1, timeout_ms);
        if (n >= 0) return n > 0 ? ((p.revents & (POLLERR | POLLNVAL)) ? -1 : 1) : 0;
        if (errno != EINTR) return -1;
        uint64_t now = wt_now_us();
        timeout_ms = now >= deadline ? 0 : (int)((deadline - now) / 1000);
    }
}

long wt_drain_socket(intptr_t sock) {
    /* read(), not recv(): the same loop empties an eventfd (8 bytes, the
     * counter reset to 0) and a socket. */
    char buf[4096];
    long total = 0;
    for (;;) {
        ssize_t n = read((int)sock, buf, sizeof buf);
        if (n > 0) {
            total += n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            return total; /* EAGAIN: nothing more now */
        }
    }
}

void wt_close_socket(intptr_t sock) { close((int)sock); }

uint32_t wt_thread_id(void) { return (uint32_t)syscall(SYS_gettid); }

uint64_t wt_now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void wt_sleep_ms(uint32_t ms) {
    struct timespec left = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&left, &left) != 0 && errno == EINTR) {
    }
}

int wt_is_pipe(void *handle) {
    struct stat st;
    return fstat(fd_of(handle), &st) == 0 && S_ISFIFO(st.st_mode);
}

int wt_pipe_roundtrip(void *write_end, void *read_end) {
    static const char message[] = "hcsaio through a POSIX pipe";
    char back[sizeof message];
    size_t done = 0;
    while (done < sizeof message) {
        ssize_t n = write(fd_of(write_end), message + done, sizeof message - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        done += (size_t)n;
    }
    size_t got = 0;
    while (got < sizeof message) {
        ssize_t n = read(fd_of(read_end), back + got, sizeof message - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        got += (size_t)n;
    }
    return memcmp(message, back, sizeof message) == 0 ? 0 : -1;
}

void wt_close_handle(void *handle) { close(fd_of(handle)); }

long wt_open_handles(void) {
    DIR *dir = opendir("/proc/self/fd");
    if (dir == NULL) return -1;
    long n = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) n += entry->d_name[0] != '.';
    closedir(dir);
    return n - 1; /* the directory's own fd */
}

int wt_exe_dir(char *out, size_t size) {
    if (size < 2) return -1;
    ssize_t n = readlink("/proc/self/exe", out, size - 1);
    if (n <= 0 || (size_t)n >= size - 1) return -1; /* error, or possibly truncated */
    out[n] = '\0';
    char *slash = strrchr(out, '/');
    if (slash == NULL) return -1;
    if (slash == out) slash++; /* the executable is in / */
    *slash = '\0';
    return 0;
}

int wt_copy_file(const char *from_utf8, const char *to_utf8) {
    int in = open(from_utf8, O_RDONLY | O_CLOEXEC);
    if (in < 0) return -1;
    int out = open(to_utf8, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
    if (out < 0) {
        close(in);
        return -1;
    }
    char buf[65536];
    int rc = 0;
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) rc = -1;
        if (n <= 0) break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) {
                rc = -1;
                break;
            }
            off += w;
        }
        if (rc != 0) break;
    }
    close(in);
    if (close(out) != 0) rc = -1;
    return rc;
}

int wt_delete_file(const char *path_utf8) { return unlink(path_utf8) == 0 ? 0 : -1; }
