/*
 * Creating container processes.
 *
 * Moving a process between cgroups takes the kernel's global
 * cgroup_threadgroup_rwsem for writing, which costs an RCU grace period
 * (7-15 ms measured) whenever no other migration happened just before. So
 * container processes never migrate: on cgroup v1 the shim joins the
 * container's cgroups once and its children inherit them; on v2 init and
 * every child are created inside the cgroup with clone3(CLONE_INTO_CGROUP)
 * (Linux 5.7+), which only takes that lock for reading.
 */
#include <errno.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

struct s_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls,
        set_tid, set_tid_size, cgroup;
};

pid_t shim_fork(int cgroup_fd)
{
    if (cgroup_fd < 0)
        return fork();
    struct s_clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = (uint64_t)cgroup_fd;
    /* like fork(): no stack given, the child continues on a copy of ours.
     * The shim is single threaded, so skipping glibc's fork handlers loses
     * nothing (glibc does not cache the pid). */
    return (pid_t)syscall(SYS_clone3, &args, sizeof args);
}
