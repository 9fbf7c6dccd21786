/*
 * hcsemu-shim: the per-container helper of the HCS emulator.
 *
 * One shim runs per container. The Python runtime (hcsaio/emulator/_runtime_ns.py)
 * spawns it with a SOCK_SEQPACKET control socket as fd 3; the shim enters new
 * mount/uts/ipc/pid namespaces, builds the root filesystem (overlayfs over the
 * layer folders, bind-mounted mapped directories), forks the container's init
 * (pid 1) and then serves requests: every container process is a child of the
 * shim, so the shim learns each exit status first hand and can signal a pid
 * without racing pid reuse.
 *
 * The wire protocol below is mirrored by hcsaio/emulator/_shim_protocol.py; a
 * unit test compares the two, so change both together.
 *
 * Every message is one datagram: a struct shim_hdr followed by a fixed body
 * and, for some types, variable data. Integers are native (the peers share a
 * host).
 */
#ifndef HCSEMU_SHIM_H
#define HCSEMU_SHIM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- requests: runtime -> shim ---------------------------------------- */

/* body: struct shim_spawn_req, then the strings user\0 cwd\0 argv...\0
 * env...\0 (argc/envc of them); SCM_RIGHTS carries the stdio fds whose
 * SHIM_SPAWN_STD* flag is set, in stdin, stdout, stderr order.
 * Reply: SHIM_MSG_SPAWNED with the same seq. */
#define SHIM_MSG_SPAWN 1
/* body: struct shim_signal_req: the signal goes to the process's group (every
 * spawned process leads its own session and group, see spawn.c), as HCS and
 * the host runtime do. No reply; unknown or exited pids are ignored. */
#define SHIM_MSG_SIGNAL 2
/* body: struct shim_signal_req (pid ignored): init sends the signal to every
 * other process of the container. Reply: SHIM_MSG_IDLE (same seq) once no
 * process but init is left. */
#define SHIM_MSG_SIGNAL_ALL 3
/* no body: SIGKILL init, which makes the kernel kill the whole pid namespace.
 * Reply: SHIM_MSG_DEAD, after which the shim exits. */
#define SHIM_MSG_KILL 4

/* body: NUL-terminated command-line options (--scratch, --layer, ...) for a
 * shim started with --standby; must be its first message. */
#define SHIM_MSG_CONFIGURE 5

/* no body: a new pseudo-terminal from the container's own devpts, for a
 * console process (its slave is then a /dev/pts/N inside the container, so
 * ttyname() works there). Reply: SHIM_MSG_PTY with the same seq. */
#define SHIM_MSG_OPEN_PTY 6

/* ---- replies and events: shim -> runtime ------------------------------ */

/* body: struct shim_ready. */
#define SHIM_MSG_READY 100
/* body: int32 errno, then a human message (not NUL terminated). The shim
 * exits after sending it. */
#define SHIM_MSG_SETUP_ERROR 101
/* body: struct shim_spawned, seq of the request. */
#define SHIM_MSG_SPAWNED 102
/* body: struct shim_exited. Sent once per successfully spawned process,
 * always after its SHIM_MSG_SPAWNED. */
#define SHIM_MSG_EXITED 103
/* no body, seq of the SHIM_MSG_SIGNAL_ALL request. */
#define SHIM_MSG_IDLE 104
/* body: struct shim_dead. Init is gone, every process has been reaped and
 * reported; the shim exits right after. */
#define SHIM_MSG_DEAD 105
/* no body: a standby shim is in its cgroups (the runtime may now rename
 * them) and waits for SHIM_MSG_CONFIGURE. */
#define SHIM_MSG_JOINED 106
/* body: int32 errno, 0 on success; then SCM_RIGHTS carries the master and the
 * slave, in that order (both close-on-exec, the runtime owns them). */
#define SHIM_MSG_PTY 107

/* spawn flags */
#define SHIM_SPAWN_TTY 0x1u     /* make stdin the controlling terminal */
#define SHIM_SPAWN_STDIN 0x2u   /* an fd for stdin follows (else /dev/null) */
#define SHIM_SPAWN_STDOUT 0x4u
#define SHIM_SPAWN_STDERR 0x8u
#define SHIM_SPAWN_WINSIZE 0x10u /* rows/cols are valid */

/* where a spawn failed (struct shim_spawned.stage) */
#define SHIM_STAGE_NONE 0
#define SHIM_STAGE_REQUEST 1 /* malformed request */
#define SHIM_STAGE_FORK 2    /* fork failed; ENOMEM means init is gone */
#define SHIM_STAGE_CGROUP 3
#define SHIM_STAGE_STDIO 4
#define SHIM_STAGE_TTY 5
#define SHIM_STAGE_USER 6 /* ENOENT: no such user or group */
#define SHIM_STAGE_CWD 7
#define SHIM_STAGE_EXEC 8
#define SHIM_STAGE_VANISHED 9 /* killed before it could report */

struct shim_hdr {
    uint32_t type;
    uint32_t seq;
};

struct shim_spawn_req {
    uint32_t flags;
    uint16_t rows;
    uint16_t cols;
    uint32_t argc;
    uint32_t envc;
};

struct shim_signal_req {
    int32_t host_pid;
    int32_t signum;
};

struct shim_ready {
    int32_t init_host_pid;
};

struct shim_spawned {
    int32_t err; /* 0 on success, else an errno value */
    int32_t stage;
    int32_t pid;      /* pid inside the container */
    int32_t host_pid; /* pid on the host */
};

struct shim_exited {
    int32_t host_pid;
    int32_t status; /* raw wait status */
};

struct shim_dead {
    int32_t init_status; /* raw wait status of init */
};

/* largest datagram either side accepts */
#define SHIM_MAX_MSG (1u << 20)

/* ---- configuration from the command line ------------------------------ */

struct shim_mapping {
    const char *host_path;
    const char *container_path;
    int read_only;
};

struct shim_config {
    int ctl_fd;
    int standby; /* options arrive later, in SHIM_MSG_CONFIGURE */
    pid_t expected_ppid;
    const char *hostname;
    const char *scratch;
    const char **layers; /* topmost first */
    size_t n_layers;
    struct shim_mapping *mappings;
    size_t n_mappings;
    const char **cgroup_procs; /* v1: cgroup.procs files the shim joins (children inherit) */
    size_t n_cgroups;
    const char *cgroup_v2_dir; /* v2: init and children are cloned into it */
    char *rootfs; /* <scratch>/rootfs, the overlay mount point */
};

/* ---- internal interfaces ---------------------------------------------- */

/* mounts.c */
int shim_mount_rootfs(const struct shim_config *cfg, char *err, size_t errlen);
int shim_init_mounts(const char *rootfs, char *err, size_t errlen);

/* init.c: never returns */
void shim_init_main(int sock, const char *rootfs);
/* init <-> shim over a SOCK_SEQPACKET pair */
#define SHIM_INIT_QUERY 'Q'  /* shim -> init, + uint32 generation: reply EMPTY once childless */
#define SHIM_INIT_SIGNAL 'S' /* shim -> init, + int32 signal for kill(-1) */
#define SHIM_INIT_EMPTY 'E'  /* init -> shim, + the generation of the query answered */

/* spawn.c: runs in the forked child; never returns */
struct shim_spawn_args {
    uint32_t flags;
    uint16_t rows, cols;
    const char *user;
    const char *cwd;
    char **argv;
    char **envp;
    int stdio[3]; /* -1: /dev/null */
    const char *oom_score_adj; /* restore this (the shim protects itself) or NULL */
    int status_fd; /* write end: int32 pid, then on failure int32 err, int32 stage */
};
void shim_child_exec(const struct shim_spawn_args *a) __attribute__((noreturn));
/* Record which signals the shim ignores (once, after its own setup): the
 * only dispositions a child must undo, as exec resets every other one. */
void shim_note_ignored_signals(void);

/* user.c */
int shim_resolve_user(const char *spec, uid_t *uid, gid_t *gid, gid_t *groups, int *ngroups);

/* main.c: replace the command line ps and /proc/<pid>/cmdline show (init is
 * a fork of the shim and must not show host paths inside the container) */
void shim_set_cmdline(const char *name);

/* fork.c: fork(), or clone3(CLONE_INTO_CGROUP) when cgroup_fd >= 0 */
pid_t shim_fork(int cgroup_fd);

/* util.c */
int shim_write_all(int fd, const void *buf, size_t len);
int shim_write_file(const char *path, const char *text);
int shim_mkdir_p(const char *path, mode_t mode);
void shim_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
