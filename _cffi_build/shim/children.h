/*
 * The shim's table of container processes it forked: found by host pid in
 * constant time (a container may run ten thousand processes), with the ones
 * still starting (exec not yet reported) on their own list for poll().
 */
#ifndef HCSEMU_SHIM_CHILDREN_H
#define HCSEMU_SHIM_CHILDREN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum child_state { CHILD_STARTING, CHILD_RUNNING, CHILD_FAILED };

struct child {
    struct child *hnext;         /* hash chain */
    struct child *snext, *sprev; /* starting list, while status_fd >= 0 */
    pid_t host_pid;
    int32_t pid;
    uint32_t seq;
    enum child_state state;
    int status_fd; /* read end while STARTING, else -1 */
    unsigned char report[12];
    size_t report_len;
    int reaped;
    int wstatus;
};

/* takes ownership; c->status_fd >= 0 puts it on the starting list */
int children_add(struct child *c);
struct child *children_find(pid_t host_pid);
/* closes the status fd and takes it off the starting list */
void children_started(struct child *c);
/* unlinks, closes and frees */
void children_remove(struct child *c);
struct child *children_starting(void); /* iterate with ->snext */
size_t children_starting_count(void);
struct child *children_any(void);

#endif
