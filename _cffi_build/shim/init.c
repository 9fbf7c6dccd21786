/*
 * The container's pid 1: a fork of the shim (no exec, so nothing from the
 * image runs as init). It finishes the filesystem (/proc needs a process of
 * the new pid namespace), pivots into the root, then reaps orphans and, on
 * the shim's request, signals every other process of the namespace.
 *
 * Init dies with the shim (PR_SET_PDEATHSIG and EOF on its socket), and the
 * kernel kills the whole pid namespace when init dies: no process outlives
 * the shim.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim.h"

static void report(int sock, int32_t err, const char *msg)
{
    char buf[600];
    memcpy(buf, &err, sizeof err);
    size_t n = strlen(msg);
    if (n > sizeof buf - sizeof err)
        n = sizeof buf - sizeof err;
    memcpy(buf + sizeof err, msg, n);
    (void)send(sock, buf, sizeof err + n, MSG_NOSIGNAL);
}

static void answer_empty(int sock, uint32_t gen)
{
    char e[1 + sizeof gen];
    e[0] = SHIM_INIT_EMPTY;
    memcpy(e + 1, &gen, sizeof gen);
    (void)send(sock, e, sizeof e, MSG_NOSIGNAL);
}

/* Reap every exited child; true when init has no child left at all. */
static int reap_orphans(void)
{
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG | __WALL);
        if (pid > 0)
            continue;
        if (pid < 0 && errno == EINTR)
            continue;
        return pid < 0 && errno == ECHILD;
    }
}

void shim_init_main(int sock, const char *rootfs)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    prctl(PR_SET_NAME, "hcsemu-init");
    shim_set_cmdline("hcsemu-init"); /* the arguments name host paths */
    /* the memory cgroup's OOM killer must pick a workload, never init:
     * killing init would take the whole container down */
    (void)shim_write_file("/proc/self/oom_score_adj", "-1000");

    char err[512];
    shim_debug("init: started");
    if (shim_init_mounts(rootfs, err, sizeof err) < 0) {
        report(sock, errno ? errno : EIO, err);
        _exit(1);
    }

    /* SIGCHLD is blocked (inherited from the shim); take it from a signalfd */
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0) {
        report(sock, errno, "init: signalfd");
        _exit(1);
    }
    shim_debug("init: pivoted");
    report(sock, 0, "");

    int query_pending = 0;
    uint32_t query_gen = 0;
    for (;;) {
        struct pollfd p[2] = {{.fd = sock, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            _exit(1);
        }
        if (p[1].revents) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si)
                ;
            int empty = reap_orphans();
            if (query_pending && empty) {
                answer_empty(sock, query_gen);
                query_pending = 0;
            }
        }
        if (p[0].revents) {
            char buf[8];
            ssize_t n = recv(sock, buf, sizeof buf, 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                _exit(0); /* the shim is gone: take the namespace down */
            if (buf[0] == SHIM_INIT_SIGNAL && n >= 1 + (ssize_t)sizeof(int32_t)) {
                int32_t sig;
                memcpy(&sig, buf + 1, sizeof sig);
                /* from pid 1, -1 means every other process of the namespace */
                (void)kill(-1, sig);
            } else if (buf[0] == SHIM_INIT_QUERY && n >= 1 + (ssize_t)sizeof query_gen) {
                /* only the latest query matters */
                memcpy(&query_gen, buf + 1, sizeof query_gen);
                query_pending = !reap_orphans();
                if (!query_pending)
                    answer_empty(sock, query_gen);
            }
        }
    }
}
