/*
 * fakecore.c - a test double of computecore.dll for the bridge's hard races.
 *
 * The emulator is the real implementation of the ABI; this library exists to
 * make the bridge face what is hard to provoke on purpose: completions fired
 * from many native threads at once, bursts, out-of-order completion,
 * completion before the starting call returns, and callbacks racing with
 * handle close. It implements the operation functions for real (refcounted
 * operations, results, waits, cancel) and a few system/process calls whose
 * behaviour is scripted by their `options` string:
 *
 *   "delay_us=N"    complete N microseconds later, on a worker thread
 *   "hr=0x..."      complete with this HRESULT (default S_OK)
 *   "doc=TEXT"      result document (must be last: it takes the rest)
 *   "sync"          complete (callback has run) before the call returns
 *   "hold"          queue until fake_release() (for measured bursts)
 *   "never"         complete only when cancelled
 *   "fail=0x..."    fail synchronously with this HRESULT (no callback)
 *
 * The synchronous HcsOpenComputeSystem and HcsGetServiceProperties block,
 * with the id (or query) "gate", until fake_gate(1) opens the gate; an id
 * starting with "m" ("missing") is HCS_E_SYSTEM_NOT_FOUND.
 *
 * Completions run on FAKE_THREADS worker threads; events are fired by
 * fake_emit_events() from its own threads. Closing a system or process
 * handle waits for its running callbacks and no event follows, as HCS
 * documents. Control and statistics functions are prefixed fake_.
 *
 * Built by the tests with the system compiler (and with ASan/UBSan by
 * `nox -s sanitize`); not shipped. Also built as a Windows DLL with
 * mingw-w64 (pthreads from winpthreads, so its workers are real Windows
 * threads) for the Wine bridge test in tests/windows/.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hcs_defs.h"
#include "hcs_errors.h"

#define FAKE_THREADS 8

#ifdef _WIN32
/* Windows: exports need dllexport, and process pipes are real pipe
 * HANDLEs as HCS returns them. <windows.h> cannot be included beside
 * hcs_defs.h, so tests/windows/fakecore_win32.c implements these two. */
#define API __declspec(dllexport)
int fake_os_pipe(HANDLE *read_end, HANDLE *write_end);
void fake_os_close(HANDLE handle);
#else
#define API __attribute__((visibility("default")))
static int fake_os_pipe(HANDLE *read_end, HANDLE *write_end) {
    int fds[2];
    if (pipe(fds) != 0) return -1;
    *read_end = (HANDLE)(intptr_t)fds[0];
    *write_end = (HANDLE)(intptr_t)fds[1];
    return 0;
}
static void fake_os_close(HANDLE handle) { close((int)(intptr_t)handle); }
#endif

/* ---------------- strings ---------------- */

static char16_t *dup16_from_ascii(const char *s, size_t n) {
    char16_t *out = (char16_t *)malloc((n + 1) * sizeof(char16_t));
    if (!out) return NULL;
    for (size_t i = 0; i < n; i++) out[i] = (unsigned char)s[i];
    out[n] = 0;
    return out;
}

static char16_t *dup16(const char16_t *s) {
    size_t n = 0;
    while (s[n]) n++;
    char16_t *out = (char16_t *)malloc((n + 1) * sizeof(char16_t));
    if (!out) return NULL;
    memcpy(out, s, (n + 1) * sizeof(char16_t));
    return out;
}

static atomic_long g_strings_out; /* returned strings not yet freed */

API void *LocalFree(void *p) {
    if (p) {
        atomic_fetch_sub(&g_strings_out, 1);
        free(p);
    }
    return NULL;
}

API void CoTaskMemFree(void *p) { LocalFree(p); }

/* ---------------- handles with callbacks ---------------- */

typedef struct fake_handle {
    pthread_mutex_t lock;
    pthread_cond_t idle;
    HCS_EVENT_CALLBACK callback;
    void *context;
    int running;   /* callbacks in flight */
    int closed;
    int is_process;
    atomic_int refs;
} fake_handle;

static atomic_long g_live_handles;

static fake_handle *handle_new(int is_process) {
    fake_handle *h = (fake_handle *)calloc(1, sizeof *h);
    if (!h) return NULL;
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->idle, NULL);
    h->is_process = is_process;
    atomic_store(&h->refs, 1);
    atomic_fetch_add(&g_live_handles, 1);
    return h;
}

static void handle_unref(fake_handle *h) {
    if (atomic_fetch_sub(&h->refs, 1) == 1) {
        pthread_mutex_destroy(&h->lock);
        pthread_cond_destroy(&h->idle);
        free(h);
    }
}

/* Deliver one event unless the handle is closed; the close path waits for
 * `running` to reach zero, so no event starts after close returns. */
static void handle_fire(fake_handle *h, HCS_EVENT_TYPE type, const char16_t *data) {
    pthread_mutex_lock(&h->lock);
    if (h->closed || h->callback == NULL) {
        pthread_mutex_unlock(&h->lock);
        return;
    }
    h->running++;
    HCS_EVENT_CALLBACK cb = h->callback;
    void *ctx = h->context;
    pthread_mutex_unlock(&h->lock);
    HCS_EVENT ev = {type, data, NULL};
    cb(&ev, ctx); /* never under our lock */
    pthread_mutex_lock(&h->lock);
    if (--h->running == 0) pthread_cond_broadcast(&h->idle);
    pthread_mutex_unlock(&h->lock);
}

static void handle_close(fake_handle *h) {
    pthread_mutex_lock(&h->lock);
    h->closed = 1;
    while (h->running > 0) pthread_cond_wait(&h->idle, &h->lock);
    pthread_mutex_unlock(&h->lock);
    atomic_fetch_sub(&g_live_handles, 1); /* handles the caller has not closed */
    handle_unref(h);
}

/* ---------------- operations ---------------- */

enum { OP_IDLE, OP_PENDING, OP_DONE };

typedef struct fake_op {
    pthread_mutex_t lock;
    pthread_cond_t done_cv;
    atomic_int refs;
    atomic_int closed;
    int state;
    int cancelled;
    HCS_OPERATION_TYPE type;
    const void *context;
    HCS_OPERATION_COMPLETION callback;
    HRESULT result;
    char16_t *doc;
    HCS_PROCESS_INFORMATION pinfo;
    int has_pinfo;
    uint64_t id;
    /* scheduling */
    long delay_us;
    struct fake_op *next;
} fake_op;

static atomic_long g_live_ops;
static atomic_ullong g_next_op_id = 1;

static void op_unref(fake_op *op) {
    if (atomic_fetch_sub(&op->refs, 1) == 1) {
        if (op->has_pinfo) { /* nobody took the pipes */
            fake_os_close(op->pinfo.StdInput);
            fake_os_close(op->pinfo.StdOutput);
        }
        free(op->doc);
        pthread_mutex_destroy(&op->lock);
        pthread_cond_destroy(&op->done_cv);
        free(op);
    }
}

API HCS_OPERATION HcsCreateOperation(const void *context, HCS_OPERATION_COMPLETION callback) {
    fake_op *op = (fake_op *)calloc(1, sizeof *op);
    if (!op) return NULL;
    pthread_mutex_init(&op->lock, NULL);
    pthread_cond_init(&op->done_cv, NULL);
    atomic_store(&op->refs, 1);
    op->type = HcsOperationTypeNone;
    op->context = context;
    op->callback = callback;
    op->id = atomic_fetch_add(&g_next_op_id, 1);
    atomic_fetch_add(&g_live_ops, 1);
    return (HCS_OPERATION)op;
}

/* g_live_ops counts operations the caller has not closed (what a leak check
 * wants); the memory itself may outlive the close by a moment while a worker
 * finishes the callback. Closing twice is a caller bug, counted apart. */
static atomic_long g_double_closes;

API void HcsCloseOperation(HCS_OPERATION operation) {
    fake_op *op = (fake_op *)operation;
    if (!op) return;
    if (atomic_exchange(&op->closed, 1)) {
        atomic_fetch_add(&g_double_closes, 1);
        return;
    }
    atomic_fetch_sub(&g_live_ops, 1);
    op_unref(op);
}

API void *HcsGetOperationContext(HCS_OPERATION operation) { return (void *)((fake_op *)operation)->context; }

API HRESULT HcsSetOperationContext(HCS_OPERATION operation, const void *context) {
    ((fake_op *)operation)->context = context;
    return S_OK_HR;
}

API HCS_OPERATION_TYPE HcsGetOperationType(HCS_OPERATION operation) { return ((fake_op *)operation)->type; }

API UINT64 HcsGetOperationId(HCS_OPERATION operation) { return ((fake_op *)operation)->id; }

API HRESULT HcsSetOperationCallback(HCS_OPERATION operation, const void *context, HCS_OPERATION_COMPLETION callback) {
    fake_op *op = (fake_op *)operation;
    pthread_mutex_lock(&op->lock);
    op->context = context;
    op->callback = callback;
    pthread_mutex_unlock(&op->lock);
    return S_OK_HR;
}

static HRESULT op_result_locked(fake_op *op, HCS_PROCESS_INFORMATION *pinfo, PWSTR *doc) {
    if (op->state == OP_IDLE) return HCS_E_OPERATION_NOT_STARTED_HR;
    if (op->state == OP_PENDING) return HCS_E_OPERATION_PENDING_HR;
    if (doc) {
        *doc = NULL;
        if (op->doc) {
            *doc = dup16(op->doc);
            if (*doc) atomic_fetch_add(&g_strings_out, 1);
        }
    }
    if (pinfo) {
        if (op->type != HcsOperationTypeCreateProcess) return E_INVALIDARG_HR;
        if (op->has_pinfo && op->result >= 0) {
            *pinfo = op->pinfo; /* ownership moves to the caller, once */
            op->has_pinfo = 0;
        } else {
            memset(pinfo, 0, sizeof *pinfo);
        }
    }
    return op->result;
}

API HRESULT HcsGetOperationResult(HCS_OPERATION operation, PWSTR *resultDocument) {
    fake_op *op = (fake_op *)operation;
    pthread_mutex_lock(&op->lock);
    HRESULT hr = op_result_locked(op, NULL, resultDocument);
    pthread_mutex_unlock(&op->lock);
    return hr;
}

API HRESULT HcsGetOperationResultAndProcessInfo(HCS_OPERATION operation, HCS_PROCESS_INFORMATION *pi, PWSTR *doc) {
    fake_op *op = (fake_op *)operation;
    pthread_mutex_lock(&op->lock);
    HRESULT hr = op_result_locked(op, pi, doc);
    pthread_mutex_unlock(&op->lock);
    return hr;
}

static int wait_done(fake_op *op, DWORD timeout_ms) {
    if (timeout_ms == HCS_INFINITE) {
        while (op->state != OP_DONE) pthread_cond_wait(&op->done_cv, &op->lock);
        return 1;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    while (op->state != OP_DONE) {
        if (pthread_cond_timedwait(&op->done_cv, &op->lock, &ts) == ETIMEDOUT) return op->state == OP_DONE;
    }
    return 1;
}

API HRESULT HcsWaitForOperationResult(HCS_OPERATION operation, DWORD timeoutMs, PWSTR *doc) {
    fake_op *op = (fake_op *)operation;
    pthread_mutex_lock(&op->lock);
    HRESULT hr;
    if (op->state == OP_IDLE) hr = HCS_E_OPERATION_NOT_STARTED_HR;
    else if (!wait_done(op, timeoutMs)) hr = HCS_E_OPERATION_TIMEOUT_HR;
    else hr = op_result_locked(op, NULL, doc);
    pthread_mutex_unlock(&op->lock);
    return hr;
}

API HRESULT HcsWaitForOperationResultAndProcessInfo(HCS_OPERATION operation, DWORD timeoutMs,
                                                    HCS_PROCESS_INFORMATION *pi, PWSTR *doc) {
    fake_op *op = (fake_op *)operation;
    pthread_mutex_lock(&op->lock);
    HRESULT hr;
    if (op->state == OP_IDLE) hr = HCS_E_OPERATION_NOT_STARTED_HR;
    else if (!wait_done(op, timeoutMs)) hr = HCS_E_OPERATION_TIMEOUT_HR;
    else hr = op_result_locked(op, pi, doc);
    pthread_mutex_unlock(&op->lock);
    return hr;
}

/* Mark done and run the completion callback (outside any lock). The
 * worker's reference keeps the op alive during the callback even if the
 * caller closes it concurrently. */
static void op_complete(fake_op *op, HRESULT hr) {
    pthread_mutex_lock(&op->lock);
    if (op->state == OP_DONE) {
        pthread_mutex_unlock(&op->lock);
        return;
    }
    if (op->cancelled) hr = E_CANCELLED_HR;
    op->result = hr;
    op->state = OP_DONE;
    pthread_cond_broadcast(&op->done_cv);
    HCS_OPERATION_COMPLETION cb = op->callback;
    const void *ctx = op->context;
    pthread_mutex_unlock(&op->lock);
    if (cb) cb((HCS_OPERATION)op, (void *)ctx);
}

/* ---------------- worker pool ---------------- */

static pthread_mutex_t g_q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_q_cv = PTHREAD_COND_INITIALIZER;
static fake_op *g_q_head, *g_q_tail;
static fake_op *g_held_head; /* "hold" ops until fake_release */
static fake_op *g_never_head; /* "never" ops, completed by cancel */
static pthread_t g_workers[FAKE_THREADS];
static int g_started;
static atomic_long g_completions_fired;

static void *worker_main(void *arg) {
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&g_q_lock);
        while (g_q_head == NULL) pthread_cond_wait(&g_q_cv, &g_q_lock);
        fake_op *op = g_q_head;
        g_q_head = op->next;
        if (!g_q_head) g_q_tail = NULL;
        pthread_mutex_unlock(&g_q_lock);
        if (op->delay_us > 0) usleep((useconds_t)op->delay_us);
        op_complete(op, op->result);
        atomic_fetch_add(&g_completions_fired, 1);
        op_unref(op); /* the worker's reference */
    }
    return NULL;
}

static void ensure_workers(void) {
    pthread_mutex_lock(&g_q_lock);
    if (!g_started) {
        g_started = 1;
        for (int i = 0; i < FAKE_THREADS; i++) {
            pthread_create(&g_workers[i], NULL, worker_main, NULL);
            pthread_detach(g_workers[i]);
        }
    }
    pthread_mutex_unlock(&g_q_lock);
}

static void enqueue_locked(fake_op *op) {
    op->next = NULL;
    if (g_q_tail) g_q_tail->next = op;
    else g_q_head = op;
    g_q_tail = op;
}

typedef struct script {
    long delay_us;
    HRESULT hr;
    HRESULT fail;
    int sync, hold, never;
    const char16_t *doc;
} script;

static void parse_script(PCWSTR options, script *s) {
    memset(s, 0, sizeof *s);
    if (!options) return;
    char buf[256];
    size_t i = 0;
    while (options[i]) {
        size_t n = 0;
        while (options[i] && options[i] != ';' && n < sizeof buf - 1) {
            if (n == 4 && strncmp(buf, "doc=", 4) == 0) break;
            buf[n++] = (char)options[i++];
        }
        buf[n] = 0;
        if (strncmp(buf, "doc=", 4) == 0) {
            s->doc = options + i;
            return;
        }
        if (strncmp(buf, "delay_us=", 9) == 0) s->delay_us = strtol(buf + 9, NULL, 0);
        else if (strncmp(buf, "hr=", 3) == 0) s->hr = (HRESULT)(uint32_t)strtoul(buf + 3, NULL, 0);
        else if (strncmp(buf, "fail=", 5) == 0) s->fail = (HRESULT)(uint32_t)strtoul(buf + 5, NULL, 0);
        else if (strcmp(buf, "sync") == 0) s->sync = 1;
        else if (strcmp(buf, "hold") == 0) s->hold = 1;
        else if (strcmp(buf, "never") == 0) s->never = 1;
        if (options[i] == ';') i++;
    }
}

/* Start a scripted operation of the given type. */
static HRESULT start_op(HCS_OPERATION operation, HCS_OPERATION_TYPE type, PCWSTR options) {
    fake_op *op = (fake_op *)operation;
    if (!op) return E_INVALIDARG_HR;
    script s;
    parse_script(options, &s);
    if (s.fail < 0) return s.fail; /* synchronous failure: no callback */
    pthread_mutex_lock(&op->lock);
    if (op->state != OP_IDLE) {
        pthread_mutex_unlock(&op->lock);
        return HCS_E_OPERATION_ALREADY_STARTED_HR;
    }
    op->state = OP_PENDING;
    op->type = type;
    op->result = s.hr;
    op->delay_us = s.delay_us;
    if (s.doc) op->doc = dup16(s.doc);
    if (type == HcsOperationTypeCreateProcess && s.hr >= 0) {
        HANDLE read_end, write_end;
        if (fake_os_pipe(&read_end, &write_end) == 0) {
            op->pinfo.ProcessId = (DWORD)op->id;
            op->pinfo.StdInput = write_end;
            op->pinfo.StdOutput = read_end;
            op->pinfo.StdError = NULL;
            op->has_pinfo = 1;
        }
    }
    pthread_mutex_unlock(&op->lock);
    ensure_workers();
    atomic_fetch_add(&op->refs, 1); /* the scheduler's reference */
    if (s.sync) {
        /* Completion (callback included) happens before this call returns,
         * on another thread, as HCS may do. */
        pthread_mutex_lock(&g_q_lock);
        enqueue_locked(op);
        pthread_cond_signal(&g_q_cv);
        pthread_mutex_unlock(&g_q_lock);
        pthread_mutex_lock(&op->lock);
        while (op->state != OP_DONE) pthread_cond_wait(&op->done_cv, &op->lock);
        pthread_mutex_unlock(&op->lock);
        usleep(200); /* let the callback itself finish running, usually */
        return S_OK_HR;
    }
    pthread_mutex_lock(&g_q_lock);
    if (s.never) {
        op->next = g_never_head;
        g_never_head = op;
    } else if (s.hold) {
        op->next = g_held_head;
        g_held_head = op;
    } else {
        enqueue_locked(op);
        pthread_cond_signal(&g_q_cv);
    }
    pthread_mutex_unlock(&g_q_lock);
    return S_OK_HR;
}

API HRESULT HcsCancelOperation(HCS_OPERATION operation) {
    fake_op *op = (fake_op *)operation;
    pthread_mutex_lock(&op->lock);
    int state = op->state;
    if (state == OP_PENDING) op->cancelled = 1;
    pthread_mutex_unlock(&op->lock);
    if (state == OP_IDLE) return HCS_E_OPERATION_NOT_STARTED_HR;
    if (state == OP_DONE) return S_OK_HR;
    /* A "never" op is parked: move it to the run queue so it completes now. */
    pthread_mutex_lock(&g_q_lock);
    for (fake_op **pp = &g_never_head; *pp; pp = &(*pp)->next) {
        if (*pp == op) {
            *pp = op->next;
            op->delay_us = 0;
            enqueue_locked(op);
            pthread_cond_signal(&g_q_cv);
            break;
        }
    }
    pthread_mutex_unlock(&g_q_lock);
    return S_OK_HR;
}

/* ---------------- synchronous calls behind a gate ----------------
 *
 * HcsOpenComputeSystem and HcsGetServiceProperties are synchronous in HCS;
 * the bridge runs them on its worker threads. With id (or query) "gate"
 * they block until fake_gate(1) opens the gate, so a test can hold the
 * bridge's workers busy, count how many threads ever entered, and release
 * calls whose callers have stopped waiting. */

static pthread_mutex_t g_gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_gate_cv = PTHREAD_COND_INITIALIZER;
static int g_gate_open = 1;
static long g_sync_inside, g_sync_high, g_sync_made;
#define FAKE_MAX_SYNC_THREADS 64
static pthread_t g_sync_threads[FAKE_MAX_SYNC_THREADS];
static int g_sync_thread_count;

static int is_gate(PCWSTR s) {
    static const char16_t gate[] = u"gate";
    if (!s) return 0;
    for (int i = 0; gate[i]; i++)
        if (s[i] != gate[i]) return 0;
    return 1;
}

static void sync_enter(int gated) {
    pthread_mutex_lock(&g_gate_lock);
    g_sync_made++;
    g_sync_inside++;
    if (g_sync_inside > g_sync_high) g_sync_high = g_sync_inside;
    pthread_t self = pthread_self();
    int known = 0;
    for (int i = 0; i < g_sync_thread_count; i++) known |= pthread_equal(g_sync_threads[i], self);
    if (!known && g_sync_thread_count < FAKE_MAX_SYNC_THREADS) g_sync_threads[g_sync_thread_count++] = self;
    while (gated && !g_gate_open) pthread_cond_wait(&g_gate_cv, &g_gate_lock);
    pthread_mutex_unlock(&g_gate_lock);
}

static void sync_leave(void) {
    pthread_mutex_lock(&g_gate_lock);
    g_sync_inside--;
    pthread_mutex_unlock(&g_gate_lock);
}

API HRESULT HcsOpenComputeSystem(PCWSTR id, DWORD requestedAccess, HCS_SYSTEM *computeSystem) {
    (void)requestedAccess;
    if (!computeSystem || !id) return E_INVALIDARG_HR;
    *computeSystem = NULL;
    sync_enter(is_gate(id));
    HRESULT hr = S_OK_HR;
    if (id[0] == u'm') { /* "missing": an unknown id */
        hr = HCS_E_SYSTEM_NOT_FOUND_HR;
    } else {
        *computeSystem = (HCS_SYSTEM)handle_new(0);
        if (!*computeSystem) hr = E_OUTOFMEMORY_HR;
    }
    sync_leave();
    return hr;
}

/* Open or close the gate; opening releases every call waiting at it. */
API void fake_gate(int32_t open) {
    pthread_mutex_lock(&g_gate_lock);
    g_gate_open = open != 0;
    pthread_cond_broadcast(&g_gate_cv);
    pthread_mutex_unlock(&g_gate_lock);
}

API long fake_sync_inside(void) {
    pthread_mutex_lock(&g_gate_lock);
    long n = g_sync_inside;
    pthread_mutex_unlock(&g_gate_lock);
    return n;
}

API long fake_sync_high_water(void) {
    pthread_mutex_lock(&g_gate_lock);
    long n = g_sync_high;
    pthread_mutex_unlock(&g_gate_lock);
    return n;
}

/* How many synchronous calls were made at all (a call released while still
 * queued in the bridge must never get here). */
API long fake_sync_made(void) {
    pthread_mutex_lock(&g_gate_lock);
    long n = g_sync_made;
    pthread_mutex_unlock(&g_gate_lock);
    return n;
}

/* Distinct threads that ever made a synchronous call. */
API long fake_sync_threads(void) {
    pthread_mutex_lock(&g_gate_lock);
    long n = g_sync_thread_count;
    pthread_mutex_unlock(&g_gate_lock);
    return n;
}

/* ---------------- systems and processes ---------------- */

API HRESULT HcsCreateComputeSystem(PCWSTR id, PCWSTR configuration, HCS_OPERATION operation,
                                   const SECURITY_DESCRIPTOR *sd, HCS_SYSTEM *computeSystem) {
    (void)id;
    (void)sd;
    if (!computeSystem) return E_POINTER_HR;
    HRESULT hr = start_op(operation, HcsOperationTypeCreate, configuration);
    if (hr < 0) return hr;
    *computeSystem = (HCS_SYSTEM)handle_new(0);
    return S_OK_HR;
}

API void HcsCloseComputeSystem(HCS_SYSTEM computeSystem) {
    if (computeSystem) handle_close((fake_handle *)computeSystem);
}

API HRESULT HcsSetComputeSystemCallback(HCS_SYSTEM computeSystem, HCS_EVENT_OPTIONS callbackOptions,
                                        const void *context, HCS_EVENT_CALLBACK callback) {
    (void)callbackOptions;
    fake_handle *h = (fake_handle *)computeSystem;
    pthread_mutex_lock(&h->lock);
    if (h->callback) {
        pthread_mutex_unlock(&h->lock);
        return HCS_E_OPERATION_SYSTEM_CALLBACK_ALREADY_SET_HR;
    }
    h->callback = callback;
    h->context = (void *)context;
    pthread_mutex_unlock(&h->lock);
    return S_OK_HR;
}

API HRESULT HcsStartComputeSystem(HCS_SYSTEM s, HCS_OPERATION op, PCWSTR options) {
    (void)s;
    return start_op(op, HcsOperationTypeStart, options);
}

API HRESULT HcsGetComputeSystemProperties(HCS_SYSTEM s, HCS_OPERATION op, PCWSTR query) {
    (void)s;
    return start_op(op, HcsOperationTypeGetProperties, query);
}

API HRESULT HcsShutDownComputeSystem(HCS_SYSTEM s, HCS_OPERATION op, PCWSTR options) {
    (void)s;
    return start_op(op, HcsOperationTypeShutdown, options);
}

API HRESULT HcsCreateProcess(HCS_SYSTEM s, PCWSTR parameters, HCS_OPERATION operation,
                             const SECURITY_DESCRIPTOR *sd, HCS_PROCESS *process) {
    (void)s;
    (void)sd;
    if (!process) return E_POINTER_HR;
    HRESULT hr = start_op(operation, HcsOperationTypeCreateProcess, parameters);
    if (hr < 0) return hr;
    *process = (HCS_PROCESS)handle_new(1);
    return S_OK_HR;
}

API void HcsCloseProcess(HCS_PROCESS process) {
    if (process) handle_close((fake_handle *)process);
}

API HRESULT HcsSetProcessCallback(HCS_PROCESS process, HCS_EVENT_OPTIONS callbackOptions, void *context,
                                  HCS_EVENT_CALLBACK callback) {
    return HcsSetComputeSystemCallback((HCS_SYSTEM)process, callbackOptions, context, callback);
}

API HRESULT HcsGetServiceProperties(PCWSTR propertyQuery, PWSTR *result) {
    static const char doc[] = "{\"Properties\":[{\"SupportedSchemaVersions\":[{\"Major\":2,\"Minor\":1}]}]}";
    if (!result) return E_POINTER_HR;
    sync_enter(is_gate(propertyQuery)); /* "gate": held until fake_gate(1) */
    *result = dup16_from_ascii(doc, sizeof doc - 1);
    if (*result) atomic_fetch_add(&g_strings_out, 1);
    sync_leave();
    return *result ? S_OK_HR : E_OUTOFMEMORY_HR;
}

/* ---------------- test controls ---------------- */

/* Release every "hold" operation at once to the worker pool. */
API uint32_t fake_release(void) {
    uint32_t n = 0;
    pthread_mutex_lock(&g_q_lock);
    while (g_held_head) {
        fake_op *op = g_held_head;
        g_held_head = op->next;
        enqueue_locked(op);
        n++;
    }
    pthread_cond_broadcast(&g_q_cv);
    pthread_mutex_unlock(&g_q_lock);
    return n;
}

typedef struct emit_job {
    fake_handle *h;
    uint32_t count;
    HCS_EVENT_TYPE type;
    char16_t *data;
} emit_job;

static void *emit_main(void *arg) {
    emit_job *job = (emit_job *)arg;
    for (uint32_t i = 0; i < job->count; i++) handle_fire(job->h, job->type, job->data);
    handle_unref(job->h);
    free(job->data);
    free(job);
    return NULL;
}

/* Fire `per_thread` events of `type` on a handle from `threads` threads and
 * wait for them. With `detach` the threads run on while the caller proceeds
 * (to race with HcsCloseComputeSystem); the handle stays allocated until
 * they finish, but a closed handle delivers nothing. */
API int32_t fake_emit_events(void *handle, uint32_t threads, uint32_t per_thread, HCS_EVENT_TYPE type,
                             PCWSTR data, int32_t detach) {
    fake_handle *h = (fake_handle *)handle;
    pthread_t tids[64];
    if (threads == 0 || threads > 64) return -EINVAL;
    for (uint32_t i = 0; i < threads; i++) {
        emit_job *job = (emit_job *)malloc(sizeof *job);
        if (!job) return -ENOMEM;
        atomic_fetch_add(&h->refs, 1);
        job->h = h;
        job->count = per_thread;
        job->type = type;
        job->data = data ? dup16(data) : NULL;
        pthread_create(&tids[i], NULL, emit_main, job);
    }
    for (uint32_t i = 0; i < threads; i++) {
        if (detach) pthread_detach(tids[i]);
        else pthread_join(tids[i], NULL);
    }
    return 0;
}

API long fake_live_operations(void) { return atomic_load(&g_live_ops); }
API long fake_double_closes(void) { return atomic_load(&g_double_closes); }
API long fake_live_handles(void) { return atomic_load(&g_live_handles); }
API long fake_strings_outstanding(void) { return atomic_load(&g_strings_out); }
API long fake_completions_fired(void) { return atomic_load(&g_completions_fired); }
