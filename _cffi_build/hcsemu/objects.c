/*
 * objects.c - the global lock, the registry of live handle values, object
 * life cycles, and the hash table they use.
 *
 * Every API entry resolves the caller's HCS_* value through the registry
 * before touching it, so a closed, foreign or garbage value yields
 * E_HANDLE instead of a crash. The registry stores the objects' addresses
 * as keys and never dereferences a value it was given.
 */
#include "hcsemu.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

pthread_mutex_t hx_mutex = PTHREAD_MUTEX_INITIALIZER;
static hx_table g_registry;
static uint64_t g_next_op_id = 1; /* guarded */

void hx_lock(void) { pthread_mutex_lock(&hx_mutex); }
void hx_unlock(void) { pthread_mutex_unlock(&hx_mutex); }

/* ---- hash table ---- */

static size_t slot_of(const hx_table *t, uint64_t key) {
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;
    return (size_t)key & t->mask;
}

static void grow(hx_table *t) {
    size_t size = t->buckets == NULL ? 64 : (t->mask + 1) * 2;
    hx_node **fresh = (hx_node **)calloc(size, sizeof *fresh);
    if (fresh == NULL) {
        return; /* keep the old array: longer chains, still correct */
    }
    hx_node **old = t->buckets;
    size_t old_size = old == NULL ? 0 : t->mask + 1;
    t->buckets = fresh;
    t->mask = size - 1;
    for (size_t i = 0; i < old_size; i++) {
        hx_node *n = old[i];
        while (n != NULL) {
            hx_node *next = n->next;
            size_t s = slot_of(t, n->key);
            n->next = fresh[s];
            fresh[s] = n;
            n = next;
        }
    }
    free(old);
}

int hx_table_put(hx_table *t, hx_node *n, uint64_t key) {
    if (t->buckets == NULL || t->count >= t->mask + 1) {
        grow(t);
    }
    n->key = key;
    n->next = NULL;
    if (t->buckets == NULL) { /* could not allocate even the first array */
        return -1;
    }
    size_t s = slot_of(t, key);
    n->next = t->buckets[s];
    t->buckets[s] = n;
    t->count++;
    return 0;
}

hx_node *hx_table_get(const hx_table *t, uint64_t key) {
    if (t->buckets == NULL) {
        return NULL;
    }
    for (hx_node *n = t->buckets[slot_of(t, key)]; n != NULL; n = n->next) {
        if (n->key == key) {
            return n;
        }
    }
    return NULL;
}

static hx_node *unlink_where(hx_table *t, uint64_t key, const hx_node *which) {
    if (t->buckets == NULL) {
        return NULL;
    }
    hx_node **link = &t->buckets[slot_of(t, key)];
    for (hx_node *n = *link; n != NULL; link = &n->next, n = n->next) {
        if (n->key == key && (which == NULL || n == which)) {
            *link = n->next;
            n->next = NULL;
            t->count--;
            return n;
        }
    }
    return NULL;
}

hx_node *hx_table_take(hx_table *t, uint64_t key) { return unlink_where(t, key, NULL); }

int hx_table_remove(hx_table *t, hx_node *n) { return unlink_where(t, n->key, n) != NULL; }

void hx_table_each(const hx_table *t, void (*fn)(hx_node *n, void *arg), void *arg) {
    size_t size = t->buckets == NULL ? 0 : t->mask + 1;
    for (size_t i = 0; i < size; i++) {
        for (hx_node *n = t->buckets[i]; n != NULL; n = n->next) {
            fn(n, arg);
        }
    }
}

hx_node *hx_table_take_all(hx_table *t) {
    hx_node *list = NULL;
    size_t size = t->buckets == NULL ? 0 : t->mask + 1;
    for (size_t i = 0; i < size; i++) {
        hx_node *n = t->buckets[i];
        while (n != NULL) {
            hx_node *next = n->next;
            n->next = list;
            list = n;
            n = next;
        }
        t->buckets[i] = NULL;
    }
    t->count = 0;
    return list;
}

void hx_table_free(hx_table *t) {
    free(t->buckets);
    memset(t, 0, sizeof *t);
}

/* ---- registry ---- */

int hx_register(hx_object *o) {
    if (hx_table_put(&g_registry, &o->reg_node, (uint64_t)(uintptr_t)o) != 0) {
        return -1;
    }
    o->registered = 1;
    o->refs++;
    return 0;
}

int hx_unregister(hx_object *o) {
    if (!o->registered) {
        return 0;
    }
    hx_table_remove(&g_registry, &o->reg_node);
    o->registered = 0;
    hx_unref(o);
    return 1;
}

hx_object *hx_lookup(const void *value, hx_kind kind) {
    if (value == NULL) {
        return NULL;
    }
    hx_node *n = hx_table_get(&g_registry, (uint64_t)(uintptr_t)value);
    if (n == NULL) {
        return NULL;
    }
    hx_object *o = HX_CONTAINER(n, hx_object, reg_node);
    if (o->kind != kind) {
        return NULL;
    }
    o->refs++;
    return o;
}

typedef struct visitor {
    void (*fn)(hx_object *o);
} visitor;

static void registry_visit(hx_node *n, void *arg) {
    ((visitor *)arg)->fn(HX_CONTAINER(n, hx_object, reg_node));
}

void hx_registry_each(void (*fn)(hx_object *o)) {
    visitor v = {fn};
    hx_table_each(&g_registry, registry_visit, &v);
}

void hx_ref(hx_object *o) { o->refs++; }

static void close_fds(int *fds) {
    for (int i = 0; i < 3; i++) {
        if (fds[i] >= 0) {
            close(fds[i]);
            fds[i] = -1;
        }
    }
}

static void free_op(hx_op *op) {
    free(op->doc);
    close_fds(op->fds); /* stdio nobody took: discarded with the result */
    if (op->target != NULL) {
        hx_unref(&op->target->base);
    }
    if (op->route != NULL) {
        hx_unref(&op->route->base);
    }
    if (op->conn != NULL) {
        hx_conn_unref(op->conn);
    }
    pthread_cond_destroy(&op->done);
    free(op);
}

static void free_handle(hx_handle *h) {
    free(h->exit_doc);
    if (h->system != NULL) {
        hx_unref(&h->system->base);
    }
    if (h->conn != NULL) {
        hx_conn_unref(h->conn);
    }
    pthread_cond_destroy(&h->drained);
    free(h);
}

void hx_unref(hx_object *o) {
    if (--o->refs > 0) {
        return;
    }
    if (o->kind == HX_OPERATION) {
        free_op((hx_op *)o);
    } else {
        free_handle((hx_handle *)o);
    }
}

void hx_cond_init(pthread_cond_t *c) {
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(c, &attr);
    pthread_condattr_destroy(&attr);
}

int hx_cond_wait_ms(pthread_cond_t *c, const int *value, int wanted, DWORD timeout_ms) {
    if (timeout_ms == HCS_INFINITE) {
        while (*value != wanted) {
            pthread_cond_wait(c, &hx_mutex);
        }
        return 0;
    }
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    while (*value != wanted) {
        if (pthread_cond_timedwait(c, &hx_mutex, &deadline) == ETIMEDOUT) {
            return *value == wanted ? 0 : -1;
        }
    }
    return 0;
}

hx_op *hx_op_new(void) {
    hx_op *op = (hx_op *)calloc(1, sizeof *op);
    if (op == NULL) {
        return NULL;
    }
    op->base.kind = HX_OPERATION;
    op->type = HcsOperationTypeNone;
    op->fds[0] = op->fds[1] = op->fds[2] = -1;
    hx_cond_init(&op->done);
    hx_lock();
    op->id = g_next_op_id++;
    op->base.refs = 1; /* the creator's */
    hx_unlock();
    return op;
}

hx_handle *hx_handle_new(hx_kind kind, hx_conn *conn) {
    hx_handle *h = (hx_handle *)calloc(1, sizeof *h);
    if (h == NULL) {
        return NULL;
    }
    h->base.kind = kind;
    h->base.refs = 1; /* the creator's */
    hx_cond_init(&h->drained);
    hx_lock();
    h->conn = conn;
    conn->refs++;
    h->wire_id = conn->next_handle_id++;
    hx_unlock();
    return h;
}

/* ---- fork ---- */

static void reinit_object(hx_object *o) {
    /* Waiters from the parent do not exist here: start the conditions afresh
     * (broadcasting on them could wait for phantom waiters). */
    if (o->kind == HX_OPERATION) {
        hx_cond_init(&((hx_op *)o)->done);
    } else {
        hx_handle *h = (hx_handle *)o;
        hx_cond_init(&h->drained);
        h->running = 0; /* the threads that ran them are gone */
    }
}

void hx_after_fork_child(void) {
    hx_registry_each(reinit_object);
}
