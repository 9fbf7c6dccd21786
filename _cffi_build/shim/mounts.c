/*
 * The container's filesystem.
 *
 * The shim (in its new, private mount namespace) mounts the overlay root and
 * bind-mounts the mapped directories; init (pid 1, same mount namespace)
 * then mounts /proc, /dev, /sys inside it and pivots into it, which moves the
 * shim's root as well, so every process the shim forks afterwards starts in
 * the container's root.
 *
 * Paths inside the image are untrusted: a layer may contain a symlink such
 * as /data -> /etc. Everything below the overlay root is therefore resolved
 * with openat2(RESOLVE_IN_ROOT) and mounted through file descriptors (the
 * mount API of Linux 5.2+, mount_setattr of 5.12+), never by host path.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "shim.h"

/* Our own names for the new mount API, so the code builds with any glibc
 * (2.36 declares some of these in <sys/mount.h>, older ones do not). */
#define S_OPEN_TREE_CLONE 1u
#define S_AT_RECURSIVE 0x8000
#define S_MOVE_MOUNT_F_EMPTY_PATH 0x4u
#define S_MOVE_MOUNT_T_EMPTY_PATH 0x40u
#define S_FSOPEN_CLOEXEC 0x1u
#define S_FSMOUNT_CLOEXEC 0x1u
#define S_FSCONFIG_SET_STRING 1u
#define S_FSCONFIG_CMD_CREATE 6u
#define S_MOUNT_ATTR_RDONLY 0x1u
#define S_MOUNT_ATTR_NOSUID 0x2u
#define S_MOUNT_ATTR_NODEV 0x4u
#define S_MOUNT_ATTR_NOEXEC 0x8u

struct s_mount_attr {
    uint64_t attr_set, attr_clr, propagation, userns_fd;
};

static int sys_open_tree(int dfd, const char *path, unsigned flags)
{
    return (int)syscall(SYS_open_tree, dfd, path, flags);
}
static int sys_move_mount(int from_dfd, const char *from, int to_dfd, const char *to, unsigned flags)
{
    return (int)syscall(SYS_move_mount, from_dfd, from, to_dfd, to, flags);
}
static int sys_mount_setattr(int dfd, const char *path, unsigned flags, struct s_mount_attr *attr)
{
    return (int)syscall(SYS_mount_setattr, dfd, path, flags, attr, sizeof *attr);
}
static int sys_fsopen(const char *fs, unsigned flags)
{
    return (int)syscall(SYS_fsopen, fs, flags);
}
static int sys_fsconfig(int fd, unsigned cmd, const char *key, const void *value, int aux)
{
    return (int)syscall(SYS_fsconfig, fd, cmd, key, value, aux);
}
static int sys_fsmount(int fd, unsigned flags, unsigned attrs)
{
    return (int)syscall(SYS_fsmount, fd, flags, attrs);
}
static int sys_openat2(int dfd, const char *path, struct open_how *how)
{
    return (int)syscall(SYS_openat2, dfd, path, how, sizeof *how);
}

static void set_err(char *err, size_t errlen, const char *what, const char *path)
{
    int saved = errno;
    snprintf(err, errlen, "%s %s: %s", what, path ? path : "", strerror(saved));
    errno = saved;
}

static int open_beneath(int rootfd, const char *path)
{
    struct open_how how = {
        .flags = O_PATH | O_CLOEXEC,
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    return sys_openat2(rootfd, path, &how);
}

/*
 * Open (O_PATH) `path` inside the tree rooted at rootfd, creating missing
 * directories, and the last component as an empty file when `as_file`.
 * Symlinks resolve as if rootfd were "/", so nothing escapes the image.
 */
static int open_in_root(int rootfd, const char *path, int as_file)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);
    if (len >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, len + 1);

    int cur = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
    if (cur < 0)
        return -1;
    char prefix[PATH_MAX] = "";
    size_t plen = 0;
    char *save = NULL;
    char *comp = strtok_r(buf, "/", &save);
    while (comp) {
        char *next = strtok_r(NULL, "/", &save);
        size_t clen = strlen(comp);
        if (plen + clen + 2 > sizeof prefix) {
            close(cur);
            errno = ENAMETOOLONG;
            return -1;
        }
        prefix[plen++] = '/';
        memcpy(prefix + plen, comp, clen + 1);
        plen += clen;

        int fd = open_beneath(rootfd, prefix);
        if (fd < 0 && errno == ENOENT) {
            /* `cur` is the resolved parent, so creating there stays inside */
            int rc;
            if (!next && as_file) {
                rc = openat(cur, comp, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
                if (rc >= 0)
                    close(rc);
            } else {
                rc = mkdirat(cur, comp, 0755);
            }
            if (rc < 0 && errno != EEXIST) {
                close(cur);
                return -1;
            }
            fd = open_beneath(rootfd, prefix);
        }
        if (fd < 0) {
            int saved = errno;
            close(cur);
            errno = saved;
            return -1;
        }
        close(cur);
        cur = fd;
        comp = next;
    }
    return cur;
}

/* overlay options: ',' separates options, ':' lower layers; escape both */
static int append_escaped(char *dst, size_t cap, size_t *pos, const char *s)
{
    for (; *s; s++) {
        int esc = *s == ',' || *s == ':' || *s == '\\';
        if (*pos + 2 + (size_t)esc >= cap)
            return -1;
        if (esc)
            dst[(*pos)++] = '\\';
        dst[(*pos)++] = *s;
    }
    dst[*pos] = '\0';
    return 0;
}

static int append_raw(char *dst, size_t cap, size_t *pos, const char *s)
{
    size_t n = strlen(s);
    if (*pos + n + 1 >= cap)
        return -1;
    memcpy(dst + *pos, s, n + 1);
    *pos += n;
    return 0;
}

/* Many or long layer paths do not fit the one page mount(2) accepts; the
 * fsconfig "lowerdir+" key (Linux 6.8+) adds layers one at a time. */
static int mount_overlay_fsconfig(const struct shim_config *cfg, const char *upper,
                                  const char *work, int is_volatile)
{
    int fs = sys_fsopen("overlay", S_FSOPEN_CLOEXEC);
    if (fs < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < cfg->n_layers && rc == 0; i++)
        rc = sys_fsconfig(fs, S_FSCONFIG_SET_STRING, "lowerdir+", cfg->layers[i], 0);
    if (rc == 0)
        rc = sys_fsconfig(fs, S_FSCONFIG_SET_STRING, "upperdir", upper, 0);
    if (rc == 0)
        rc = sys_fsconfig(fs, S_FSCONFIG_SET_STRING, "workdir", work, 0);
    if (rc == 0 && is_volatile)
        rc = sys_fsconfig(fs, 0 /* FSCONFIG_SET_FLAG */, "volatile", NULL, 0);
    if (rc == 0)
        rc = sys_fsconfig(fs, S_FSCONFIG_CMD_CREATE, NULL, NULL, 0);
    int mnt = rc == 0 ? sys_fsmount(fs, S_FSMOUNT_CLOEXEC, 0) : -1;
    int saved = errno;
    close(fs);
    if (mnt < 0) {
        errno = saved;
        return -1;
    }
    rc = sys_move_mount(mnt, "", AT_FDCWD, cfg->rootfs, S_MOVE_MOUNT_F_EMPTY_PATH);
    saved = errno;
    close(mnt);
    errno = saved;
    return rc;
}

static int mount_overlay(const struct shim_config *cfg, const char *upper, const char *work,
                         int is_volatile)
{
    char opts[4096];
    size_t pos = 0;
    int fits = append_raw(opts, sizeof opts, &pos, "lowerdir=") == 0;
    for (size_t i = 0; fits && i < cfg->n_layers; i++) {
        if (i > 0)
            fits = append_raw(opts, sizeof opts, &pos, ":") == 0;
        if (fits)
            fits = append_escaped(opts, sizeof opts, &pos, cfg->layers[i]) == 0;
    }
    fits = fits && append_raw(opts, sizeof opts, &pos, ",upperdir=") == 0 &&
           append_escaped(opts, sizeof opts, &pos, upper) == 0 &&
           append_raw(opts, sizeof opts, &pos, ",workdir=") == 0 &&
           append_escaped(opts, sizeof opts, &pos, work) == 0 &&
           (!is_volatile || append_raw(opts, sizeof opts, &pos, ",volatile") == 0);
    if (!fits)
        return mount_overlay_fsconfig(cfg, upper, work, is_volatile);
    return mount("overlay", cfg->rootfs, "overlay", 0, opts);
}

/*
 * The overlay is mounted "volatile" (Linux 5.10+): no syncfs of the whole
 * upper filesystem when the container's mount namespace goes away, which
 * otherwise makes every teardown wait for all of the host's dirty data.
 * Overlay marks such a work dir with work/incompat/volatile and refuses to
 * mount it again, because after a host crash the upper dir may be torn. A
 * marker left during the current boot is stale (no crash happened since), so
 * it is removed; the boot id of the last mount is kept next to upper/work.
 */
/* buf = a + b; -1 when it does not fit */
static int join2(char *buf, size_t cap, const char *a, const char *b)
{
    int n = snprintf(buf, cap, "%s%s", a, b);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static void read_small(const char *path, char *buf, size_t cap)
{
    buf[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
}

static void clear_stale_volatile_marker(const char *scratch, const char *work,
                                        const char *boot_id)
{
    char marker[PATH_MAX], incompat[PATH_MAX], stamp[PATH_MAX], seen[64];
    if (join2(incompat, sizeof incompat, work, "/work/incompat") < 0 ||
        join2(marker, sizeof marker, incompat, "/volatile") < 0 ||
        join2(stamp, sizeof stamp, scratch, "/.hcsemu-boot-id") < 0 || access(marker, F_OK) != 0)
        return;
    read_small(stamp, seen, sizeof seen);
    if (!boot_id[0] || strcmp(seen, boot_id) != 0)
        return;
    /* the marker may hold files (a "dirty" flag); nothing deeper */
    DIR *d = opendir(marker);
    if (d) {
        for (struct dirent *e; (e = readdir(d));)
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                unlinkat(dirfd(d), e->d_name, 0);
        closedir(d);
    }
    rmdir(marker);
    rmdir(incompat);
}

static void record_boot_id(const char *scratch, const char *boot_id)
{
    char stamp[PATH_MAX], seen[64];
    if (join2(stamp, sizeof stamp, scratch, "/.hcsemu-boot-id") < 0)
        return;
    read_small(stamp, seen, sizeof seen);
    if (!boot_id[0] || strcmp(seen, boot_id) == 0)
        return;
    int fd = open(stamp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
        (void)shim_write_all(fd, boot_id, strlen(boot_id));
        close(fd);
    }
}

static int bind_mapping(int rootfd, const struct shim_mapping *m, char *err, size_t errlen)
{
    struct stat st;
    if (stat(m->host_path, &st) < 0) {
        set_err(err, errlen, "mapped directory", m->host_path);
        return -1;
    }
    int tree = sys_open_tree(AT_FDCWD, m->host_path,
                             S_OPEN_TREE_CLONE | O_CLOEXEC | S_AT_RECURSIVE);
    if (tree < 0) {
        set_err(err, errlen, "open_tree", m->host_path);
        return -1;
    }
    if (m->read_only) {
        struct s_mount_attr attr = {.attr_set = S_MOUNT_ATTR_RDONLY};
        if (sys_mount_setattr(tree, "", AT_EMPTY_PATH | S_AT_RECURSIVE, &attr) < 0) {
            set_err(err, errlen, "read-only mapped directory", m->host_path);
            close(tree);
            return -1;
        }
    }
    int target = open_in_root(rootfd, m->container_path, !S_ISDIR(st.st_mode));
    if (target < 0) {
        set_err(err, errlen, "mapped directory target", m->container_path);
        close(tree);
        return -1;
    }
    int rc = sys_move_mount(tree, "", target, "",
                            S_MOVE_MOUNT_F_EMPTY_PATH | S_MOVE_MOUNT_T_EMPTY_PATH);
    if (rc < 0)
        set_err(err, errlen, "bind mount", m->container_path);
    close(target);
    close(tree);
    return rc;
}

int shim_mount_rootfs(const struct shim_config *cfg, char *err, size_t errlen)
{
    char upper[PATH_MAX], work[PATH_MAX];
    if (join2(upper, sizeof upper, cfg->scratch, "/upper") < 0 ||
        join2(work, sizeof work, cfg->scratch, "/work") < 0) {
        errno = ENAMETOOLONG;
        set_err(err, errlen, "scratch", cfg->scratch);
        return -1;
    }
    if (shim_mkdir_p(upper, 0755) < 0 || shim_mkdir_p(work, 0700) < 0 ||
        shim_mkdir_p(cfg->rootfs, 0755) < 0) {
        set_err(err, errlen, "scratch", cfg->scratch);
        return -1;
    }
    /* the overlay root's mode comes from the upper dir; make it a proper / */
    chmod(upper, 0755);
    char boot_id[64];
    read_small("/proc/sys/kernel/random/boot_id", boot_id, sizeof boot_id);
    clear_stale_volatile_marker(cfg->scratch, work, boot_id);
    int is_volatile = 1;
    int rc = mount_overlay(cfg, upper, work, is_volatile);
    if (rc < 0 && errno == EINVAL) {
        is_volatile = 0; /* before Linux 5.10 */
        rc = mount_overlay(cfg, upper, work, is_volatile);
    }
    if (rc < 0) {
        set_err(err, errlen, "overlay mount on", cfg->rootfs);
        int saved = errno;
        char marker[PATH_MAX];
        if (join2(marker, sizeof marker, work, "/work/incompat/volatile") == 0 &&
            access(marker, F_OK) == 0)
            snprintf(err, errlen,
                     "scratch %s was in use when the host went down and may be "
                     "inconsistent; use a fresh scratch folder",
                     cfg->scratch);
        errno = saved;
        return -1;
    }
    if (is_volatile)
        record_boot_id(cfg->scratch, boot_id);
    int rootfd = open(cfg->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) {
        set_err(err, errlen, "open", cfg->rootfs);
        return -1;
    }
    for (size_t i = 0; i < cfg->n_mappings; i++) {
        if (bind_mapping(rootfd, &cfg->mappings[i], err, errlen) < 0) {
            close(rootfd);
            return -1;
        }
    }
    close(rootfd);
    return 0;
}

/* A fresh filesystem instance, attached at `path` inside the root. */
static int mount_fresh(int rootfd, const char *fstype, const char *path, const char *opts,
                       unsigned attrs, int (*populate)(int mntfd), char *err, size_t errlen)
{
    int fs = sys_fsopen(fstype, S_FSOPEN_CLOEXEC);
    if (fs < 0) {
        set_err(err, errlen, "fsopen", fstype);
        return -1;
    }
    int rc = 0;
    if (opts) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s", opts);
        char *save = NULL;
        for (char *kv = strtok_r(buf, ",", &save); kv && rc == 0; kv = strtok_r(NULL, ",", &save)) {
            char *eq = strchr(kv, '=');
            if (eq) {
                *eq = '\0';
                rc = sys_fsconfig(fs, S_FSCONFIG_SET_STRING, kv, eq + 1, 0);
            } else {
                rc = sys_fsconfig(fs, 0 /* FSCONFIG_SET_FLAG */, kv, NULL, 0);
            }
        }
    }
    if (rc == 0)
        rc = sys_fsconfig(fs, S_FSCONFIG_CMD_CREATE, NULL, NULL, 0);
    int mnt = rc == 0 ? sys_fsmount(fs, S_FSMOUNT_CLOEXEC, attrs) : -1;
    if (mnt < 0) {
        set_err(err, errlen, "mount", path);
        close(fs);
        return -1;
    }
    close(fs);
    if (populate && populate(mnt) < 0) {
        set_err(err, errlen, "populate", path);
        close(mnt);
        return -1;
    }
    int target = open_in_root(rootfd, path, 0);
    if (target < 0) {
        set_err(err, errlen, "mount point", path);
        close(mnt);
        return -1;
    }
    rc = sys_move_mount(mnt, "", target, "", S_MOVE_MOUNT_F_EMPTY_PATH | S_MOVE_MOUNT_T_EMPTY_PATH);
    if (rc < 0)
        set_err(err, errlen, "attach", path);
    close(target);
    close(mnt);
    return rc;
}

/* /dev: the usual character devices, standard links and mount points. */
static int populate_dev(int dev)
{
    static const struct {
        const char *name;
        unsigned major, minor;
    } nodes[] = {
        {"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7},
        {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
    };
    static const struct {
        const char *name, *target;
    } links[] = {
        {"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"},
        {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"},
        {"ptmx", "pts/ptmx"}, {"core", "/proc/kcore"},
    };
    for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
        if (mknodat(dev, nodes[i].name, S_IFCHR | 0666, makedev(nodes[i].major, nodes[i].minor)) < 0)
            return -1;
        /* mknod obeys the umask; devices must be world usable */
        if (fchmodat(dev, nodes[i].name, 0666, 0) < 0)
            return -1;
    }
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
        if (symlinkat(links[i].target, dev, links[i].name) < 0)
            return -1;
    if (mkdirat(dev, "pts", 0755) < 0 || mkdirat(dev, "shm", 01777) < 0 ||
        mkdirat(dev, "mqueue", 01777) < 0)
        return -1;
    return 0;
}

int shim_init_mounts(const char *rootfs, char *err, size_t errlen)
{
    int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) {
        set_err(err, errlen, "open", rootfs);
        return -1;
    }
    const unsigned nsd = S_MOUNT_ATTR_NOSUID | S_MOUNT_ATTR_NODEV | S_MOUNT_ATTR_NOEXEC;
    /* proc must be mounted by a process of the new pid namespace: init */
    int rc = mount_fresh(rootfd, "proc", "/proc", NULL, nsd, NULL, err, errlen);
    if (rc == 0)
        rc = mount_fresh(rootfd, "tmpfs", "/dev", "mode=755,size=65536k", S_MOUNT_ATTR_NOSUID,
                         populate_dev, err, errlen);
    if (rc == 0)
        rc = mount_fresh(rootfd, "devpts", "/dev/pts", "newinstance,ptmxmode=0666,mode=0620",
                         S_MOUNT_ATTR_NOSUID | S_MOUNT_ATTR_NOEXEC, NULL, err, errlen);
    if (rc == 0)
        rc = mount_fresh(rootfd, "tmpfs", "/dev/shm", "mode=1777,size=65536k", nsd, NULL, err,
                         errlen);
    if (rc == 0) {
        /* POSIX message queues are optional in the kernel */
        rc = mount_fresh(rootfd, "mqueue", "/dev/mqueue", NULL, nsd, NULL, err, errlen);
        if (rc < 0 && errno == ENODEV)
            rc = 0;
    }
    if (rc == 0)
        rc = mount_fresh(rootfd, "sysfs", "/sys", NULL, nsd | S_MOUNT_ATTR_RDONLY, NULL, err,
                         errlen);
    if (rc == 0) {
        /* pivot_root(".", ".") stacks the old root on the new one; detaching
         * it leaves nothing of the host visible. Every process whose root
         * was the old root (the shim too) now has the container's root. */
        if (fchdir(rootfd) < 0 || syscall(SYS_pivot_root, ".", ".") < 0) {
            set_err(err, errlen, "pivot_root", rootfs);
            rc = -1;
        } else if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0) {
            set_err(err, errlen, "detach old root", "");
            rc = -1;
        }
    }
    close(rootfd);
    return rc;
}
