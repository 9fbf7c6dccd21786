/*
 * The child side of a spawn: everything between fork() and execve().
 *
 * The child is already in the container's pid namespace (the shim unshared
 * it) and root (init pivoted the shared mount namespace). It reports its
 * namespace pid through the status pipe first, then either execs (the
 * close-on-exec pipe reads EOF: success) or writes {errno, stage} and exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "shim.h"

/* what the image's processes get when the environment has no PATH (Docker's) */
static const char default_path[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

static void fail(int status_fd, int stage) __attribute__((noreturn));
static void fail(int status_fd, int stage)
{
    int32_t rep[2] = {errno ? errno : EIO, stage};
    (void)shim_write_all(status_fd, rep, sizeof rep);
    _exit(127);
}

static const char *env_path(char **envp)
{
    for (char **e = envp; *e; e++)
        if (strncmp(*e, "PATH=", 5) == 0)
            return *e + 5;
    return default_path;
}

/* execvpe() semantics, but searching the PATH of the new environment rather
 * than the shim's, and without the ENOEXEC fallback to /bin/sh. Returns only
 * on failure, with errno set. */
static void exec_search(char **argv, char **envp)
{
    const char *file = argv[0];
    if (!*file) {
        errno = ENOENT;
        return;
    }
    if (strchr(file, '/')) {
        execve(file, argv, envp);
        return;
    }
    const char *path = env_path(envp);
    size_t flen = strlen(file);
    int saw_eacces = 0;
    char buf[4096];
    for (const char *p = path;; p++) {
        const char *end = strchrnul(p, ':');
        size_t dlen = (size_t)(end - p);
        if (dlen + flen + 2 <= sizeof buf) {
            if (dlen == 0) {
                memcpy(buf, file, flen + 1); /* empty entry: current directory */
            } else {
                memcpy(buf, p, dlen);
                buf[dlen] = '/';
                memcpy(buf + dlen + 1, file, flen + 1);
            }
            execve(buf, argv, envp);
            switch (errno) {
            case EACCES:
                saw_eacces = 1;
                break;
            case ENOENT:
            case ENOTDIR:
            case ESTALE:
            case ELOOP:
            case ENAMETOOLONG:
            case ENODEV:
            case ETIMEDOUT:
                break;
            default:
                return; /* a real error with an existing file: report it */
            }
        }
        if (!*end)
            break;
        p = end;
    }
    errno = saw_eacces ? EACCES : ENOENT;
}

static int ignored[64]; /* signals the shim ignores, or cannot query */
static int n_ignored;

void shim_note_ignored_signals(void)
{
    n_ignored = 0;
    for (int sig = 1; sig <= 64; sig++) {
        struct sigaction old;
        /* glibc refuses its two reserved real-time signals: those are
         * always reset, like anything else that cannot be asked */
        if (sigaction(sig, NULL, &old) < 0 ? sig != SIGKILL && sig != SIGSTOP
                                           : old.sa_handler == SIG_IGN)
            ignored[n_ignored++] = sig;
    }
}

void shim_child_exec(const struct shim_spawn_args *a)
{
    int st = a->status_fd;

    /* The program starts with every disposition at its default, as under
     * any container runtime: undo the shim's own setup (SIGPIPE) and any
     * SIG_IGN inherited from whoever started the service (a shell's `&`
     * job ignores SIGINT and SIGQUIT; exec keeps SIG_IGN). exec resets
     * every caught signal itself, so the ignored ones, noted once at
     * startup, are all there is to undo. The raw system call, because
     * glibc's sigaction refuses its two reserved real-time signals; an
     * all-zero kernel sigaction is SIG_DFL, no flags, empty mask on every
     * architecture. */
    static const unsigned long dfl[8]; /* larger than any kernel sigaction */
    for (int i = 0; i < n_ignored; i++)
        syscall(SYS_rt_sigaction, ignored[i], dfl, NULL, (size_t)8 /* the kernel's 64-bit sigset */);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    int32_t pid = getpid(); /* namespace pid: we are inside it */
    if (shim_write_all(st, &pid, sizeof pid) < 0)
        _exit(127);

    /* the shim shields itself from the OOM killer; the workload must not be */
    if (a->oom_score_adj && shim_write_file("/proc/self/oom_score_adj", a->oom_score_adj) < 0)
        fail(st, SHIM_STAGE_CGROUP);

    if (setsid() < 0)
        fail(st, SHIM_STAGE_TTY);

    /* move every source above 2 first, so that no dup2 clobbers another */
    int src[3];
    for (int i = 0; i < 3; i++) {
        int fd = a->stdio[i];
        if (fd < 0)
            fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        else
            fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
            fail(st, SHIM_STAGE_STDIO);
        src[i] = fd;
    }
    for (int i = 0; i < 3; i++)
        if (dup2(src[i], i) < 0)
            fail(st, SHIM_STAGE_STDIO);

    if (a->flags & SHIM_SPAWN_TTY) {
        if (ioctl(0, TIOCSCTTY, 0) < 0)
            fail(st, SHIM_STAGE_TTY);
        if (a->flags & SHIM_SPAWN_WINSIZE) {
            struct winsize ws = {.ws_row = a->rows, .ws_col = a->cols};
            if (ioctl(0, TIOCSWINSZ, &ws) < 0)
                fail(st, SHIM_STAGE_TTY);
        }
    }

    umask(022);

    uid_t uid;
    gid_t gid;
    gid_t groups[65];
    int ngroups;
    if (shim_resolve_user(a->user, &uid, &gid, groups, &ngroups) < 0)
        fail(st, SHIM_STAGE_USER);

    const char *cwd = a->cwd && *a->cwd ? a->cwd : "/";
    if (chdir(cwd) < 0)
        fail(st, SHIM_STAGE_CWD);

    if (setgroups((size_t)ngroups, groups) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
        fail(st, SHIM_STAGE_USER);

    exec_search(a->argv, a->envp);
    fail(st, SHIM_STAGE_EXEC);
}
