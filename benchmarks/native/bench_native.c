/*
 * bench_native.c - the C half of the bridge benchmark's baselines.
 *
 * Compiled at benchmark time into a small cffi API-mode module (this file is
 * the set_source text, so it shares a translation unit with the code cffi
 * generates for the extern "Python" callback). It drives the same fake
 * computecore hcsaio loads (tests/native/fakecore.c), through dlopen of the
 * same path, so every design faces the same 8 completing threads.
 *
 *   - stamp wrapper: the completion callback the fake calls in latency runs.
 *     It stores CLOCK_MONOTONIC (the clock of Python's time.monotonic_ns) in
 *     a slot chosen by the context, then calls the design's own callback.
 *     Every design pays the same ~20 ns for it.
 *   - (a) naive: naive_on_completion is a cffi extern "Python" function; the
 *     fake's threads call it directly, so each completion takes the GIL.
 *   - (c) limit: the bridge's hand-off (mutex queue, armed flag, one eventfd
 *     write per batch) with a C consumer instead of an event loop: the best
 *     any Python-side design on this fake could do.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "hcs_defs.h"

#define BENCH_STAMP_SLOTS (1u << 17) /* > any number of operations in flight */

/* cffi defines it below this text (extern "Python" functions are static). */
static void naive_on_completion(void *operation, void *context);

/* ---------------- the fake's exports ---------------- */

static PFN_HcsCreateOperation p_create;
static PFN_HcsCloseOperation p_close;
static PFN_HcsStartComputeSystem p_start;
static PFN_HcsGetOperationResult p_result;
static PFN_HcsGetOperationType p_type;
static PFN_HcsGetOperationContext p_context;
static PFN_HcsSetOperationCallback p_set_callback;
static void *(*p_local_free)(void *);
static uint32_t (*p_release)(void);
static long (*p_fired)(void);

static const char16_t HOLD[] = u"hold";

int bench_init(const char *fake_path, char *err, size_t errlen) {
    void *h = dlopen(fake_path, RTLD_NOW);
    if (h == NULL) {
        snprintf(err, errlen, "%s", dlerror());
        return -1;
    }
#define RESOLVE(var, name)                                   \
    do {                                                     \
        *(void **)(&var) = dlsym(h, name);                   \
        if (var == NULL) {                                   \
            snprintf(err, errlen, "%s: no export %s", fake_path, name); \
            return -1;                                       \
        }                                                    \
    } while (0)
    RESOLVE(p_create, "HcsCreateOperation");
    RESOLVE(p_close, "HcsCloseOperation");
    RESOLVE(p_start, "HcsStartComputeSystem");
    RESOLVE(p_result, "HcsGetOperationResult");
    RESOLVE(p_type, "HcsGetOperationType");
    RESOLVE(p_context, "HcsGetOperationContext");
    RESOLVE(p_set_callback, "HcsSetOperationCallback");
    RESOLVE(p_local_free, "LocalFree");
    RESOLVE(p_release, "fake_release");
    RESOLVE(p_fired, "fake_completions_fired");
#undef RESOLVE
    return 0;
}

/* ---------------- timestamps ---------------- */

int64_t bench_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t g_stamps[BENCH_STAMP_SLOTS];
static HCS_OPERATION_COMPLETION g_downstream;

int64_t *bench_stamps(void) { return g_stamps; }
uint32_t bench_stamp_slots(void) { return BENCH_STAMP_SLOTS; }
void bench_set_downstream(void *callback) { g_downstream = (HCS_OPERATION_COMPLETION)callback; }

/* The slot is written before the downstream callback runs; whoever reads it
 * learned of the completion through that callback (a mutex, an eventfd, the
 * GIL), which orders the write before the read. */
static void stamp_completion(HCS_OPERATION operation, void *context) {
    g_stamps[(uintptr_t)context % BENCH_STAMP_SLOTS] = bench_now_ns();
    HCS_OPERATION_COMPLETION downstream = g_downstream;
    if (downstream != NULL) downstream(operation, context);
}

uintptr_t bench_arm(void *operation) {
    void *context = p_context((HCS_OPERATION)operation);
    p_set_callback((HCS_OPERATION)operation, context, stamp_completion);
    return (uintptr_t)context;
}

void bench_arm_with(void *operation, uintptr_t context) {
    p_set_callback((HCS_OPERATION)operation, (const void *)context, stamp_completion);
}

uint32_t bench_release(void) { return p_release(); }
long bench_completions_fired(void) { return p_fired(); }

/* ---------------- (a) naive ---------------- */

void *naive_create(uintptr_t context, int stamped) {
    HCS_OPERATION_COMPLETION cb =
        stamped ? stamp_completion : (HCS_OPERATION_COMPLETION)naive_on_completion;
    return p_create((const void *)context, cb);
}

int32_t naive_start(void *operation, int hold) {
    return p_start(NULL, (HCS_OPERATION)operation, hold ? HOLD : NULL);
}

void naive_close(void *operation) { p_close((HCS_OPERATION)operation); }

int32_t naive_result(void *operation) {
    PWSTR doc = NULL;
    HRESULT hr = p_result((HCS_OPERATION)operation, &doc);
    if (doc != NULL) p_local_free(doc);
    return hr;
}

/* ---------------- (c) the limit ---------------- */

typedef struct limit_record {
    HCS_OPERATION operation;
    int64_t fired_ns;
    int32_t status;
} limit_record;

typedef struct limit_queue {
    limit_record *items;
    size_t count, capacity;
} limit_queue;

static pthread_mutex_t l_lock = PTHREAD_MUTEX_INITIALIZER;
static limit_queue l_producer, l_consumer;
static atomic_int l_armed;
static int l_eventfd = -1;

/* What hb_on_completion does, minus UTF-16 conversion (these operations
 * carry no document): fetch type and result, queue a record, wake once. */
static void limit_on_completion(HCS_OPERATION operation, void *context) {
    (void)context;
    limit_record rec;
    rec.fired_ns = bench_now_ns();
    rec.operation = operation;
    (void)p_type(operation);
    PWSTR doc = NULL;
    rec.status = p_result(operation, &doc);
    if (doc != NULL) p_local_free(doc);
    pthread_mutex_lock(&l_lock);
    if (l_producer.count == l_producer.capacity) {
        size_t cap = l_producer.capacity ? l_producer.capacity * 2 : 64;
        limit_record *items = (limit_record *)realloc(l_producer.items, cap * sizeof *items);
        if (items == NULL) abort(); /* a benchmark: no recovery */
        l_producer.items = items;
        l_producer.capacity = cap;
    }
    l_producer.items[l_producer.count++] = rec;
    if (atomic_exchange(&l_armed, 0) == 1) {
        uint64_t one = 1;
        ssize_t w = write(l_eventfd, &one, sizeof one);
        (void)w;
    }
    pthread_mutex_unlock(&l_lock);
}

static int limit_open(void) {
    if (l_eventfd < 0) l_eventfd = eventfd(0, EFD_CLOEXEC);
    atomic_store(&l_armed, 1);
    return l_eventfd < 0 ? -1 : 0;
}

/* Block until woken, then take the whole batch (re-arm first, as the bridge does). */
static limit_queue *limit_take(void) {
    uint64_t value;
    while (read(l_eventfd, &value, sizeof value) < 0 && errno == EINTR) {
    }
    atomic_store(&l_armed, 1);
    pthread_mutex_lock(&l_lock);
    limit_queue taken = l_producer;
    l_consumer.count = 0;
    l_producer = l_consumer;
    l_consumer = taken;
    pthread_mutex_unlock(&l_lock);
    return &l_consumer;
}

int64_t limit_burst(uint32_t n, int64_t *latency_ns) {
    if (limit_open() < 0) return -1;
    HCS_OPERATION *ops = (HCS_OPERATION *)calloc(n, sizeof *ops);
    if (ops == NULL) return -1;
    for (uint32_t i = 0; i < n; i++) {
        ops[i] = p_create((const void *)(uintptr_t)(i + 1), limit_on_completion);
        p_start(NULL, ops[i], HOLD);
    }
    int64_t start = bench_now_ns();
    p_release();
    uint32_t done = 0;
    while (done < n) {
        limit_queue *batch = limit_take();
        for (size_t i = 0; i < batch->count; i++) {
            p_close(batch->items[i].operation);
            latency_ns[done++] = bench_now_ns() - batch->items[i].fired_ns;
        }
    }
    int64_t elapsed = bench_now_ns() - start;
    free(ops);
    return elapsed;
}

int limit_sequential(uint32_t n, int64_t *latency_ns) {
    if (limit_open() < 0) return -1;
    for (uint32_t i = 0; i < n; i++) {
        HCS_OPERATION op = p_create((const void *)(uintptr_t)(i + 1), limit_on_completion);
        /* Held, then released while this thread is about to block: the
         * Python designs are measured the same way (already waiting). */
        p_start(NULL, op, HOLD);
        p_release();
        limit_queue *batch;
        do {
            batch = limit_take();
        } while (batch->count == 0);
        latency_ns[i] = bench_now_ns() - batch->items[0].fired_ns;
        p_close(op);
    }
    return 0;
}

typedef struct pingpong {
    int ping, pong;
    uint32_t n;
} pingpong;

static void *pong_main(void *arg) {
    pingpong *pp = (pingpong *)arg;
    uint64_t value = 1;
    for (uint32_t i = 0; i < pp->n; i++) {
        while (read(pp->ping, &value, sizeof value) < 0 && errno == EINTR) {
        }
        ssize_t w = write(pp->pong, &value, sizeof value);
        (void)w;
    }
    return NULL;
}

int limit_pingpong(uint32_t n, int64_t *round_trip_ns) {
    pingpong pp = {eventfd(0, EFD_CLOEXEC), eventfd(0, EFD_CLOEXEC), n};
    if (pp.ping < 0 || pp.pong < 0) return -1;
    pthread_t thread;
    if (pthread_create(&thread, NULL, pong_main, &pp) != 0) return -1;
    uint64_t value = 1;
    for (uint32_t i = 0; i < n; i++) {
        int64_t start = bench_now_ns();
        ssize_t w = write(pp.ping, &value, sizeof value);
        (void)w;
        while (read(pp.pong, &value, sizeof value) < 0 && errno == EINTR) {
        }
        round_trip_ns[i] = bench_now_ns() - start;
    }
    pthread_join(thread, NULL);
    close(pp.ping);
    close(pp.pong);
    return 0;
}
