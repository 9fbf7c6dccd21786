/*
 * hcsemu-shim: setup and the request loop. See shim.h for the protocol.
 *
 * usage: hcsemu-shim --ppid PID --scratch DIR [--ctl-fd FD] [--hostname NAME]
 *                    [--layer DIR]... [--map HOST CONTAINER ro|rw]...
 *                    [--cgroup CGROUP_PROCS_FILE]... | [--cgroup-v2 DIR]
 *        hcsemu-shim --standby --ppid PID [--ctl-fd FD] [--cgroup ...]
 *                    then the rest as a SHIM_MSG_CONFIGURE message
 *
 * Order of setup, and why:
 *   1. die with the parent (PR_SET_PDEATHSIG) and keep only the control fd;
 *   2. cgroups, before anything is allocated: on v1 join them (children
 *      inherit, see fork.c), on v2 open the directory to clone into;
 *   3. unshare mount/uts/ipc/pid, make every mount private (nothing we do
 *      propagates to the host), set the hostname;
 *   4. overlay root + mapped directories (host paths are still reachable);
 *   5. fork init: it mounts /proc, /dev, /sys and pivots (the shim's root
 *      moves with it);
 *   6. report READY and serve.
 * On v1 the shim is a member of the container's cgroups: it shields itself
 * from the OOM killer (its children restore the service's setting) and is
 * frozen with the container on Pause; the runtime thaws before stopping.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "children.h"
#include "shim.h"

static struct shim_config cfg;
static int ctl = -1;
static int ctl_closed;
static int init_sock = -1;
static pid_t init_pid = -1;
static int init_dead;
static int init_status;
static int cgroup_dirfd = -1;  /* v2 */
static int pts_dirfd = -1;     /* the container's /dev/pts, for SHIM_MSG_OPEN_PTY */
static char oom_restore[16];   /* v1: the oom_score_adj the children get back */
static size_t n_live; /* forked and not yet reaped */
/*
 * SIGNAL_ALL bookkeeping: IDLE is due once neither we nor init have a child.
 * When our last child is reaped, its own children have already been handed
 * to init, so a query sent to init at that point sees them. An answer is
 * trusted only if it answers the latest query and nothing was spawned since
 * (a child spawned and gone meanwhile may have handed init new orphans).
 */
static uint32_t *idle_seqs; /* SIGNAL_ALL requests waiting for IDLE */
static size_t n_idle, idle_cap;
static uint32_t query_gen;
static int query_outstanding;
static int spawned_since_query;

static unsigned char msgbuf[SHIM_MAX_MSG];

/* ---- sending ---------------------------------------------------------- */

/* One datagram; nfds (at most 2) descriptors ride along as SCM_RIGHTS. */
static void send_msg_fds(uint32_t type, uint32_t seq, const void *body, size_t len, const int *fds,
                         size_t nfds)
{
    if (ctl_closed)
        return;
    unsigned char buf[sizeof(struct shim_hdr) + 1024];
    struct shim_hdr h = {type, seq};
    if (len > sizeof buf - sizeof h)
        len = sizeof buf - sizeof h;
    memcpy(buf, &h, sizeof h);
    if (len)
        memcpy(buf + sizeof h, body, len);
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * 2)];
    } cbuf;
    struct iovec iov = {buf, sizeof h + len};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    if (nfds > 2)
        nfds = 2;
    if (nfds) {
        memset(&cbuf, 0, sizeof cbuf);
        mh.msg_control = cbuf.buf;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
    }
    while (sendmsg(ctl, &mh, MSG_NOSIGNAL) < 0) {
        if (errno == EINTR)
            continue;
        ctl_closed = 1; /* the runtime is gone; the loop takes everything down */
        return;
    }
}

static void send_msg(uint32_t type, uint32_t seq, const void *body, size_t len)
{
    send_msg_fds(type, seq, body, len, NULL, 0);
}

static void send_setup_error(const char *msg) __attribute__((noreturn));
static void send_setup_error(const char *msg)
{
    int32_t err = errno ? errno : EIO;
    unsigned char body[1024];
    size_t n = strlen(msg);
    if (n > sizeof body - sizeof err)
        n = sizeof body - sizeof err;
    memcpy(body, &err, sizeof err);
    memcpy(body + sizeof err, msg, n);
    send_msg(SHIM_MSG_SETUP_ERROR, 0, body, sizeof err + n);
    exit(1);
}

static void send_spawned(struct child *c, int32_t err, int32_t stage)
{
    struct shim_spawned r = {err, stage, err ? 0 : c->pid, err ? 0 : c->host_pid};
    send_msg(SHIM_MSG_SPAWNED, c->seq, &r, sizeof r);
}

static void send_spawn_error(uint32_t seq, int32_t err, int32_t stage)
{
    struct shim_spawned r = {err, stage, 0, 0};
    send_msg(SHIM_MSG_SPAWNED, seq, &r, sizeof r);
}

/* ---- command line ----------------------------------------------------- */

static char *arg_area;
static size_t arg_area_len;

void shim_set_cmdline(const char *name)
{
    size_t n = strlen(name) + 1;
    if (!arg_area || n > arg_area_len)
        return;
    memset(arg_area, 0, arg_area_len);
    memcpy(arg_area, name, n);
    /* a non-NUL last byte is the kernel's setproctitle() convention: it then
     * reports the area up to the first NUL, i.e. just the name */
    if (arg_area_len > n)
        arg_area[arg_area_len - 1] = ' ';
}

static void usage(const char *why) __attribute__((noreturn));
static void usage(const char *why)
{
    if (ctl >= 0) { /* a standby shim's CONFIGURE: the runtime waits for an answer */
        errno = EINVAL;
        send_setup_error(why);
    }
    fprintf(stderr, "hcsemu-shim: %s\n", why);
    exit(2);
}

static void push(const char ***arr, size_t *n, size_t *cap, const char *value)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        *arr = realloc(*arr, *cap * sizeof **arr);
        if (!*arr)
            usage("out of memory");
    }
    (*arr)[(*n)++] = value;
}

/* Options from the command line and, for a standby shim, from CONFIGURE. */
static void parse_options(int argc, char **argv)
{
    static size_t layers_cap, mappings_cap, cgroups_cap;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int more = argc - i - 1;
        if (strcmp(a, "--ctl-fd") == 0 && more >= 1) {
            cfg.ctl_fd = atoi(argv[++i]);
        } else if (strcmp(a, "--ppid") == 0 && more >= 1) {
            cfg.expected_ppid = (pid_t)atoi(argv[++i]);
        } else if (strcmp(a, "--standby") == 0) {
            cfg.standby = 1;
        } else if (strcmp(a, "--hostname") == 0 && more >= 1) {
            cfg.hostname = argv[++i];
        } else if (strcmp(a, "--scratch") == 0 && more >= 1) {
            cfg.scratch = argv[++i];
        } else if (strcmp(a, "--layer") == 0 && more >= 1) {
            push(&cfg.layers, &cfg.n_layers, &layers_cap, argv[++i]);
        } else if (strcmp(a, "--map") == 0 && more >= 3) {
            if (cfg.n_mappings == mappings_cap) {
                mappings_cap = mappings_cap ? mappings_cap * 2 : 8;
                cfg.mappings = realloc(cfg.mappings, mappings_cap * sizeof *cfg.mappings);
                if (!cfg.mappings)
                    usage("out of memory");
            }
            struct shim_mapping *m = &cfg.mappings[cfg.n_mappings++];
            m->host_path = argv[++i];
            m->container_path = argv[++i];
            m->read_only = strcmp(argv[++i], "ro") == 0;
        } else if (strcmp(a, "--cgroup") == 0 && more >= 1) {
            push(&cfg.cgroup_procs, &cfg.n_cgroups, &cgroups_cap, argv[++i]);
        } else if (strcmp(a, "--cgroup-v2") == 0 && more >= 1) {
            cfg.cgroup_v2_dir = argv[++i];
        } else {
            usage("bad arguments");
        }
    }
}

/* Once every option is known: check and derive. */
static void finish_options(void)
{
    if (!cfg.scratch || cfg.n_layers == 0)
        usage("--scratch and at least one --layer are required");
    size_t n = strlen(cfg.scratch) + sizeof "/rootfs";
    cfg.rootfs = malloc(n);
    if (!cfg.rootfs)
        usage("out of memory");
    snprintf(cfg.rootfs, n, "%s/rootfs", cfg.scratch);
}

/* ---- setup ------------------------------------------------------------ */

static int make_signalfd(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static void keep_only_ctl_fd(void)
{
    /* fds a C library in the service left inheritable must not reach the
     * container; 0-2 stay (stderr carries diagnostics) */
    int fd = cfg.ctl_fd;
    if (fd > 3)
        syscall(SYS_close_range, 3u, (unsigned)fd - 1, 0u);
    syscall(SYS_close_range, (unsigned)fd + 1, ~0u, 0u);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static void join_cgroups(char *err, size_t errlen)
{
    if (cfg.cgroup_v2_dir) {
        cgroup_dirfd = open(cfg.cgroup_v2_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (cgroup_dirfd < 0) {
            snprintf(err, errlen, "cgroup %s: %s", cfg.cgroup_v2_dir, strerror(errno));
            send_setup_error(err);
        }
        return;
    }
    if (cfg.n_cgroups == 0)
        return;
    int fd = open("/proc/self/oom_score_adj", O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, oom_restore, sizeof oom_restore - 1);
        oom_restore[n > 0 ? n : 0] = '\0';
        oom_restore[strcspn(oom_restore, "\n")] = '\0';
        /* the memory cgroup's OOM killer must pick a workload, not the shim */
        (void)!write(fd, "-1000", 5);
        close(fd);
    }
    for (size_t i = 0; i < cfg.n_cgroups; i++) {
        if (shim_write_file(cfg.cgroup_procs[i], "0") < 0) {
            snprintf(err, errlen, "joining cgroup %s: %s", cfg.cgroup_procs[i], strerror(errno));
            send_setup_error(err);
        }
    }
}

/*
 * A standby shim is started ahead of need: it joins its cgroup (the slow
 * part, see fork.c) while nobody waits, then blocks here until the runtime
 * sends the container's options. EOF means it was not needed.
 */
static void wait_for_configuration(void)
{
    send_msg(SHIM_MSG_JOINED, 0, NULL, 0);
    ssize_t n;
    do {
        n = recv(ctl, msgbuf, sizeof msgbuf - 1, 0);
    } while (n < 0 && errno == EINTR);
    if (n <= 0)
        exit(0);
    struct shim_hdr h;
    if ((size_t)n < sizeof h)
        usage("short CONFIGURE");
    memcpy(&h, msgbuf, sizeof h);
    if (h.type != SHIM_MSG_CONFIGURE)
        usage("a standby shim expects CONFIGURE first");
    /* the options point into this copy for the shim's whole life */
    size_t len = (size_t)n - sizeof h;
    char *opts = malloc(len + 1);
    if (!opts)
        usage("out of memory");
    memcpy(opts, msgbuf + sizeof h, len);
    opts[len] = '\0';
    int argc = 0;
    for (size_t i = 0; i < len; i++)
        argc += opts[i] == '\0';
    char **argv = calloc((size_t)argc + 1, sizeof *argv);
    if (!argv)
        usage("out of memory");
    char *p = opts;
    for (int i = 0; i < argc; i++, p += strlen(p) + 1)
        argv[i] = p;
    parse_options(argc, argv);
    finish_options();
    shim_debug("configured");
}

static void setup(int *sfd_out)
{
    char err[600];
    shim_debug("start");
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    keep_only_ctl_fd();
    ctl = cfg.ctl_fd;
    if (cfg.expected_ppid && getppid() != cfg.expected_ppid)
        exit(1); /* the runtime died before we could arm PDEATHSIG */
    umask(022);
    /* pivot_root moves the root and cwd of every process whose root/cwd is
     * the old root: be one of them, so we end up inside the container */
    if (chdir("/") < 0)
        send_setup_error("chdir /");

    *sfd_out = make_signalfd();
    if (*sfd_out < 0)
        send_setup_error("signalfd");
    shim_note_ignored_signals(); /* after make_signalfd ignored SIGPIPE */

    join_cgroups(err, sizeof err);
    shim_debug("cgroups joined");
    if (cfg.standby)
        wait_for_configuration();

    if (unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID) < 0)
        send_setup_error("unshare(mount, uts, ipc, pid) failed (needs root)");
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        send_setup_error("making mounts private");
    if (cfg.hostname && sethostname(cfg.hostname, strlen(cfg.hostname)) < 0) {
        snprintf(err, sizeof err, "hostname %s: %s", cfg.hostname, strerror(errno));
        send_setup_error(err);
    }
    shim_debug("namespaces");
    if (shim_mount_rootfs(&cfg, err, sizeof err) < 0)
        send_setup_error(err);
    shim_debug("rootfs mounted");

    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        send_setup_error("socketpair");
    init_pid = shim_fork(cgroup_dirfd);
    if (init_pid < 0)
        send_setup_error("fork init");
    if (init_pid == 0) {
        /* init must not hold the control socket: its EOF is how the runtime
         * learns that the shim is gone */
        close(ctl);
        close(sv[0]);
        close(*sfd_out);
        if (cgroup_dirfd >= 0)
            close(cgroup_dirfd); /* a handle on the host's cgroupfs */
        shim_init_main(sv[1], cfg.rootfs);
    }
    close(sv[1]);
    init_sock = sv[0];

    unsigned char rep[600];
    ssize_t n;
    do {
        n = recv(init_sock, rep, sizeof rep - 1, 0);
    } while (n < 0 && errno == EINTR);
    int32_t ierr = EIO;
    if (n >= (ssize_t)sizeof ierr)
        memcpy(&ierr, rep, sizeof ierr);
    if (n < (ssize_t)sizeof ierr || ierr != 0) {
        if (n > (ssize_t)sizeof ierr) {
            rep[n] = '\0';
            snprintf(err, sizeof err, "%s", (char *)rep + sizeof ierr);
        } else {
            snprintf(err, sizeof err, "container init failed to start");
        }
        kill(init_pid, SIGKILL);
        waitpid(init_pid, NULL, __WALL);
        errno = ierr;
        send_setup_error(err);
    }
    shim_debug("init ready");
    /* init has pivoted (our root moved with it) and mounted the container's
     * devpts; nothing of the image has run yet, so this is that devpts.
     * Consoles come from it (SHIM_MSG_OPEN_PTY); -1 makes them fail. */
    pts_dirfd = open("/dev/pts", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct shim_ready r = {init_pid};
    send_msg(SHIM_MSG_READY, 0, &r, sizeof r);
}

/* ---- children --------------------------------------------------------- */

static void check_idle(void)
{
    if (!n_idle || query_outstanding || n_live > 0 || init_dead)
        return;
    char q[1 + sizeof query_gen];
    q[0] = SHIM_INIT_QUERY;
    query_gen++;
    memcpy(q + 1, &query_gen, sizeof query_gen);
    if (send(init_sock, q, sizeof q, MSG_NOSIGNAL) == (ssize_t)sizeof q) {
        query_outstanding = 1;
        spawned_since_query = 0;
    }
}

static void reply_idle(void)
{
    for (size_t i = 0; i < n_idle; i++)
        send_msg(SHIM_MSG_IDLE, idle_seqs[i], NULL, 0);
    n_idle = 0;
}

static void want_idle(uint32_t seq)
{
    if (n_idle == idle_cap) {
        size_t cap = idle_cap ? idle_cap * 2 : 4;
        uint32_t *grown = realloc(idle_seqs, cap * sizeof *grown);
        if (!grown) {
            send_msg(SHIM_MSG_IDLE, seq, NULL, 0); /* cannot track it: answer now */
            return;
        }
        idle_seqs = grown;
        idle_cap = cap;
    }
    idle_seqs[n_idle++] = seq;
}

/* Read the child's start report; once complete (EOF), answer the spawn. */
static void advance_start(struct child *c)
{
    for (;;) {
        ssize_t n = read(c->status_fd, c->report + c->report_len, sizeof c->report - c->report_len);
        if (n > 0) {
            c->report_len += (size_t)n;
            if (c->report_len < sizeof c->report)
                continue;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && errno == EAGAIN && !c->reaped) {
            return; /* not exec'd yet */
        }
        break; /* EOF, a full failure report, or a dead child */
    }
    children_started(c);
    if (c->report_len >= 4)
        memcpy(&c->pid, c->report, 4);
    if (c->report_len == sizeof c->report) {
        int32_t err, stage;
        memcpy(&err, c->report + 4, 4);
        memcpy(&stage, c->report + 8, 4);
        send_spawned(c, err, stage);
        c->state = CHILD_FAILED;
    } else if (c->report_len == 4) {
        send_spawned(c, 0, SHIM_STAGE_NONE);
        c->state = CHILD_RUNNING;
    } else {
        send_spawned(c, ESRCH, SHIM_STAGE_VANISHED);
        c->state = CHILD_FAILED;
    }
    if (c->reaped) {
        if (c->state == CHILD_RUNNING) {
            struct shim_exited e = {c->host_pid, c->wstatus};
            send_msg(SHIM_MSG_EXITED, 0, &e, sizeof e);
        }
        children_remove(c);
    }
}

static void reap_children(void)
{
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG | __WALL);
        if (pid < 0 && errno == EINTR)
            continue;
        if (pid <= 0)
            break;
        if (pid == init_pid) {
            init_dead = 1;
            init_status = status;
            continue;
        }
        struct child *c = children_find(pid);
        if (!c)
            continue;
        n_live--;
        c->reaped = 1;
        c->wstatus = status;
        if (c->state == CHILD_STARTING) {
            advance_start(c); /* reports SPAWNED, then EXITED */
        } else {
            if (c->state == CHILD_RUNNING) {
                struct shim_exited e = {c->host_pid, status};
                send_msg(SHIM_MSG_EXITED, 0, &e, sizeof e);
            }
            children_remove(c);
        }
    }
}

/* ---- requests --------------------------------------------------------- */

static void handle_spawn(uint32_t seq, const unsigned char *body, size_t len, const int *fds,
                         size_t nfds)
{
    struct shim_spawn_req req;
    if (len < sizeof req) {
        send_spawn_error(seq, EINVAL, SHIM_STAGE_REQUEST);
        return;
    }
    memcpy(&req, body, sizeof req);
    const char *strings = (const char *)body + sizeof req;
    size_t slen = len - sizeof req;
    size_t want = 2 + (size_t)req.argc + (size_t)req.envc;
    unsigned expect_fds = !!(req.flags & SHIM_SPAWN_STDIN) + !!(req.flags & SHIM_SPAWN_STDOUT) +
                          !!(req.flags & SHIM_SPAWN_STDERR);
    /* every string is NUL terminated: count them without trusting counts */
    size_t found = 0;
    for (size_t i = 0; i < slen; i++)
        found += strings[i] == '\0';
    if (req.argc == 0 || found != want || (slen && strings[slen - 1] != '\0') ||
        nfds != expect_fds) {
        send_spawn_error(seq, EINVAL, SHIM_STAGE_REQUEST);
        return;
    }
    char **vec = calloc(req.argc + req.envc + 2, sizeof *vec);
    struct child *c = calloc(1, sizeof *c);
    int pipefd[2] = {-1, -1};
    if (!vec || !c || pipe2(pipefd, O_CLOEXEC) < 0) {
        send_spawn_error(seq, ENOMEM, SHIM_STAGE_FORK);
        free(vec);
        free(c);
        return;
    }
    const char *s = strings;
    const char *user = s;
    s += strlen(s) + 1;
    const char *cwd = s;
    s += strlen(s) + 1;
    char **argv = vec;
    for (uint32_t i = 0; i < req.argc; i++, s += strlen(s) + 1)
        argv[i] = (char *)s;
    char **envp = vec + req.argc + 1;
    for (uint32_t i = 0; i < req.envc; i++, s += strlen(s) + 1)
        envp[i] = (char *)s;

    struct shim_spawn_args a = {
        .flags = req.flags,
        .rows = req.rows,
        .cols = req.cols,
        .user = user,
        .cwd = cwd,
        .argv = argv,
        .envp = envp,
        .stdio = {-1, -1, -1},
        .oom_score_adj = oom_restore[0] ? oom_restore : NULL,
        .status_fd = pipefd[1],
    };
    size_t k = 0;
    if (req.flags & SHIM_SPAWN_STDIN)
        a.stdio[0] = fds[k++];
    if (req.flags & SHIM_SPAWN_STDOUT)
        a.stdio[1] = fds[k++];
    if (req.flags & SHIM_SPAWN_STDERR)
        a.stdio[2] = fds[k++];

    pid_t pid = shim_fork(cgroup_dirfd);
    if (pid == 0)
        shim_child_exec(&a);
    int fork_errno = errno;
    free(vec);
    close(pipefd[1]);
    if (pid < 0) {
        close(pipefd[0]);
        free(c);
        /* ENOMEM here means the pid namespace's init is gone */
        send_spawn_error(seq, fork_errno, SHIM_STAGE_FORK);
        return;
    }
    fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
    c->host_pid = pid;
    c->seq = seq;
    c->state = CHILD_STARTING;
    c->status_fd = pipefd[0];
    if (children_add(c) < 0) {
        /* cannot track it: it must not run untracked */
        kill(pid, SIGKILL);
        close(pipefd[0]);
        free(c);
        send_spawn_error(seq, ENOMEM, SHIM_STAGE_FORK);
        return;
    }
    n_live++;
    spawned_since_query = 1;
}

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

/* The slave of a fresh master, without a path lookup where the kernel
 * allows it (4.13+), else by its number in the same devpts. */
static int open_pty_peer(int master)
{
    int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave >= 0 || (errno != EINVAL && errno != ENOTTY))
        return slave;
    unsigned int n;
    if (ioctl(master, TIOCGPTN, &n) < 0)
        return -1;
    char name[16];
    snprintf(name, sizeof name, "%u", n);
    return openat(pts_dirfd, name, O_RDWR | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC);
}

/* A console for a process of the container: a pty of the container's own
 * devpts, so the process finds its terminal under /dev/pts. The master and
 * the slave go to the runtime; the spawn that follows brings the slave back. */
static void handle_open_pty(uint32_t seq)
{
    int fds[2] = {-1, -1};
    int32_t err = 0;
    int unlock = 0;
    if (pts_dirfd < 0) {
        err = ENODEV;
    } else if ((fds[0] = openat(pts_dirfd, "ptmx", O_RDWR | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
               ioctl(fds[0], TIOCSPTLCK, &unlock) < 0 || (fds[1] = open_pty_peer(fds[0])) < 0) {
        err = errno ? errno : EIO;
    }
    send_msg_fds(SHIM_MSG_PTY, seq, &err, sizeof err, fds, err ? 0 : 2);
    for (int i = 0; i < 2; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

static void handle_ctl(void)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * 3)];
    } cbuf;
    struct iovec iov = {msgbuf, sizeof msgbuf};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.buf, .msg_controllen = sizeof cbuf.buf};
    ssize_t n = recvmsg(ctl, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        /* the runtime closed the socket or died: nothing may outlive it */
        ctl_closed = 1;
        if (!init_dead)
            kill(init_pid, SIGKILL);
        return;
    }
    int fds[3];
    size_t nfds = 0;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        size_t count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof fd);
            if (nfds < 3)
                fds[nfds++] = fd;
            else
                close(fd);
        }
    }
    struct shim_hdr h;
    if ((size_t)n < sizeof h || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
        memcpy(&h, msgbuf, (size_t)n < sizeof h ? 0 : sizeof h);
        if ((size_t)n >= sizeof h && h.type == SHIM_MSG_SPAWN)
            send_spawn_error(h.seq, E2BIG, SHIM_STAGE_REQUEST);
        for (size_t i = 0; i < nfds; i++)
            close(fds[i]);
        return;
    }
    memcpy(&h, msgbuf, sizeof h);
    const unsigned char *body = msgbuf + sizeof h;
    size_t blen = (size_t)n - sizeof h;
    switch (h.type) {
    case SHIM_MSG_SPAWN:
        handle_spawn(h.seq, body, blen, fds, nfds);
        break;
    case SHIM_MSG_SIGNAL:
    case SHIM_MSG_SIGNAL_ALL: {
        struct shim_signal_req r;
        if (blen < sizeof r)
            break;
        memcpy(&r, body, sizeof r);
        if (h.type == SHIM_MSG_SIGNAL) {
            /* only a child we have not reaped: its pid, which is its process
             * group's id (spawn.c makes it a session leader), cannot have
             * been reused. The whole group, as HCS; one still starting may
             * not lead its group yet. */
            struct child *c = children_find(r.host_pid);
            if (c && !c->reaped && kill(-c->host_pid, r.signum) < 0 && errno == ESRCH)
                kill(c->host_pid, r.signum);
        } else if (!init_dead) {
            char m[1 + sizeof(int32_t)];
            m[0] = SHIM_INIT_SIGNAL;
            memcpy(m + 1, &r.signum, sizeof r.signum);
            (void)send(init_sock, m, sizeof m, MSG_NOSIGNAL);
            want_idle(h.seq);
            check_idle();
        } else {
            send_msg(SHIM_MSG_IDLE, h.seq, NULL, 0);
        }
        break;
    }
    case SHIM_MSG_KILL:
        if (!init_dead)
            kill(init_pid, SIGKILL);
        break;
    case SHIM_MSG_OPEN_PTY:
        handle_open_pty(h.seq);
        break;
    default:
        break;
    }
    for (size_t i = 0; i < nfds; i++)
        close(fds[i]);
}

static void handle_init_sock(void)
{
    char b[8];
    ssize_t n = recv(init_sock, b, sizeof b, MSG_DONTWAIT);
    if (n <= 0) {
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            return;
        close(init_sock); /* init is exiting; its reaping follows */
        init_sock = -1;
        return;
    }
    uint32_t gen;
    if (b[0] != SHIM_INIT_EMPTY || n < 1 + (ssize_t)sizeof gen)
        return;
    memcpy(&gen, b + 1, sizeof gen);
    if (!query_outstanding || gen != query_gen)
        return; /* an old answer */
    query_outstanding = 0;
    if (n_live == 0 && !spawned_since_query)
        reply_idle();
    else
        check_idle(); /* spawned meanwhile: ask again once they are gone */
}

/* ---- main loop -------------------------------------------------------- */

int main(int argc, char **argv)
{
    arg_area = argv[0];
    arg_area_len = (size_t)(argv[argc - 1] + strlen(argv[argc - 1]) + 1 - argv[0]);
    cfg.ctl_fd = 3;
    parse_options(argc - 1, argv + 1);
    if (!cfg.standby)
        finish_options();
    int sfd;
    setup(&sfd);

    struct pollfd *pfd = NULL;
    struct child **pchild = NULL;
    size_t pcap = 0;
    for (;;) {
        if (init_dead) {
            reap_children();
            /* the kernel reaps a namespace's processes before its init, so
             * nothing is left; report stragglers as vanished to be safe */
            for (struct child *c; (c = children_any());) {
                if (c->state == CHILD_STARTING) {
                    c->reaped = 1;
                    advance_start(c);
                } else {
                    children_remove(c);
                }
            }
            struct shim_dead d = {init_status};
            send_msg(SHIM_MSG_DEAD, 0, &d, sizeof d);
            free(pfd);
            free(pchild);
            return 0;
        }
        size_t want = 3 + children_starting_count();
        if (want > pcap) {
            free(pfd);
            free(pchild);
            pcap = want * 2;
            pfd = calloc(pcap, sizeof *pfd);
            pchild = calloc(pcap, sizeof *pchild);
            if (!pfd || !pchild)
                abort();
        }
        size_t np = 0;
        pfd[np++] = (struct pollfd){.fd = ctl_closed ? -1 : ctl, .events = POLLIN};
        pfd[np++] = (struct pollfd){.fd = sfd, .events = POLLIN};
        pfd[np++] = (struct pollfd){.fd = init_sock, .events = POLLIN};
        for (struct child *c = children_starting(); c; c = c->snext) {
            pchild[np] = c;
            pfd[np++] = (struct pollfd){.fd = c->status_fd, .events = POLLIN};
        }

        if (poll(pfd, np, -1) < 0) {
            if (errno == EINTR)
                continue;
            abort();
        }
        /* status pipes before reaping: a child still starting here is not
         * reaped, so advance_start() does not free it and pchild[] holds */
        for (size_t i = 3; i < np; i++)
            if (pfd[i].revents)
                advance_start(pchild[i]);
        if (pfd[1].revents) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si)
                ;
            reap_children();
            check_idle();
        }
        if (pfd[2].revents)
            handle_init_sock();
        if (pfd[0].revents)
            handle_ctl();
    }
}
