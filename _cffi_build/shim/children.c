/* See children.h. */
#include <stdlib.h>
#include <unistd.h>

#include "children.h"

static struct child **buckets;
static size_t n_buckets; /* a power of two */
static size_t n_children;
static struct child *starting;
static size_t n_starting;

static size_t slot(pid_t pid)
{
    return ((size_t)(uint32_t)pid * 2654435761u) & (n_buckets - 1);
}

static int grow(void)
{
    size_t size = n_buckets ? n_buckets * 2 : 64;
    struct child **fresh = calloc(size, sizeof *fresh);
    if (!fresh)
        return -1;
    struct child **old = buckets;
    size_t old_size = n_buckets;
    buckets = fresh;
    n_buckets = size;
    for (size_t i = 0; i < old_size; i++) {
        for (struct child *c = old[i], *next; c; c = next) {
            next = c->hnext;
            c->hnext = buckets[slot(c->host_pid)];
            buckets[slot(c->host_pid)] = c;
        }
    }
    free(old);
    return 0;
}

int children_add(struct child *c)
{
    if (n_children + 1 > n_buckets && grow() < 0)
        return -1;
    c->hnext = buckets[slot(c->host_pid)];
    buckets[slot(c->host_pid)] = c;
    n_children++;
    c->sprev = NULL;
    c->snext = NULL;
    if (c->status_fd >= 0) {
        c->snext = starting;
        if (starting)
            starting->sprev = c;
        starting = c;
        n_starting++;
    }
    return 0;
}

struct child *children_find(pid_t host_pid)
{
    if (!n_buckets)
        return NULL;
    for (struct child *c = buckets[slot(host_pid)]; c; c = c->hnext)
        if (c->host_pid == host_pid)
            return c;
    return NULL;
}

void children_started(struct child *c)
{
    if (c->status_fd < 0)
        return;
    close(c->status_fd);
    c->status_fd = -1;
    if (c->sprev)
        c->sprev->snext = c->snext;
    else
        starting = c->snext;
    if (c->snext)
        c->snext->sprev = c->sprev;
    c->snext = c->sprev = NULL;
    n_starting--;
}

void children_remove(struct child *c)
{
    children_started(c);
    for (struct child **pp = &buckets[slot(c->host_pid)]; *pp; pp = &(*pp)->hnext) {
        if (*pp == c) {
            *pp = c->hnext;
            n_children--;
            break;
        }
    }
    free(c);
}

struct child *children_starting(void)
{
    return starting;
}

size_t children_starting_count(void)
{
    return n_starting;
}

struct child *children_any(void)
{
    for (size_t i = 0; n_children && i < n_buckets; i++)
        if (buckets[i])
            return buckets[i];
    return NULL;
}
