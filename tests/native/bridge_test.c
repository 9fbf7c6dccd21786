/*
 * bridge_test.c - the bridge's hard races, in C, against a fake computecore.
 *
 * Built from the same bridge sources as the Python extension (loader.c,
 * dispatcher.c, platform.c) plus the generated hb_call_* wrappers, against
 * a shared-library build of the fake computecore (tests/native/fakecore.c)
 * whose workers are native threads. Two builds:
 *
 *   - Windows (tests/windows/wine_bridge.py): mingw-w64, run under Wine;
 *     platform.c's _WIN32 branch (SRWLOCK, InitOnce, LoadLibraryExW, send()
 *     on a SOCKET), fakecore.dll, pipe HANDLEs; OS helpers in
 *     tests/windows/wine_os.c.
 *   - Linux (tests/native/run_native_tests.py): gcc, optionally under
 *     AddressSanitizer, UBSan and LeakSanitizer; dlopen, libfakecore.so,
 *     fds; OS helpers in tests/native/posix_os.c.
 *
 * What it proves, each as a hard check (exit 1 on the first failure):
 *   1. loading: a missing library fails with E_MOD_NOT_FOUND and a message
 *      naming it; the same library opened twice shares one index; a missing
 *      export reports E_PROC_NOT_FOUND through its hb_call_ wrapper.
 *      Windows only: computecore.dll with the System32-only flag is not
 *      found on a host without HCS (Wine has none), even with a copy planted
 *      next to the executable, which the default search does pick up;
 *   2. completions from the fake's threads reach the queue through the
 *      socket wake-up exactly once each, with their HRESULTs and documents
 *      (interleaved with the starts, and as one released burst); on Linux
 *      the same again through the eventfd wake-up;
 *   3. they run on threads other than the waiting one;
 *   4. events from many threads arrive exactly once each; after
 *      HcsCloseComputeSystem returns, no event follows;
 *   5. process information carries real pipe handles (HANDLEs, fds) that work;
 *   6. records for a closed dispatcher become orphans the bridge disposes
 *      of (operations closed, documents freed), also after its slot was
 *      reopened thousands of times: token sequences are never reused;
 *   7. synchronous calls run on the bridge's worker pool: never more threads
 *      than its size however many calls wait; a call given up while queued
 *      is never made, nor one whose deadline passed; results nobody takes
 *      (handles, strings) are disposed of, also for a closed dispatcher;
 *   8. nothing leaks: documents, returned strings, operations, fake handles,
 *      calls, and (Linux) file descriptors.
 * Prints "RESULT name=value" lines that the Python runners collect.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "hb_calls.h"
#include "hcs_errors.h"
#include "platform.h"
#include "bridge_test_os.h"

#define PHASE_A 20000u /* completions started while the loop drains */
#define PHASE_B 10000u /* completions held, then released at once */
#define PHASE_C 2000u  /* completions observed for their thread */
#define EVENT_THREADS 8u
#define EVENTS_PER_THREAD 2500u
#define ORPHANS 1000u
#define IDLE_TIMEOUT_MS 10000

#ifdef _WIN32
#define SEP "\\"
#define FAKE_NAME "fakecore.dll"
#define MISSING_NAME "computecore-does-not-exist.dll"
#else
#define SEP "/"
#define FAKE_NAME "libfakecore.so"
#define MISSING_NAME "libcomputecore-does-not-exist.so"
#endif

static void fail(int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL bridge_test.c:%d: ", line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fflush(stdout);
    exit(1);
}
#define CHECK(cond, ...) \
    do { \
        if (!(cond)) fail(__LINE__, __VA_ARGS__); \
    } while (0)

/* ---- the fake's control exports ---- */
typedef uint32_t (*fn_release)(void);
typedef int32_t (*fn_emit)(void *, uint32_t, uint32_t, int32_t, const char16_t *, int32_t);
typedef long (*fn_count)(void);
typedef void (*fn_gate)(int32_t);

static struct {
    fn_release release;
    fn_emit emit;
    fn_count live_operations, live_handles, strings_outstanding, double_closes;
    fn_gate gate;
    fn_count sync_inside, sync_high_water, sync_made, sync_threads;
} fake;

static void *control_symbol(void *module, const char *name) {
    void *p = hb_dl_sym(module, name);
    CHECK(p != NULL, "the fake library does not export %s", name);
    return p;
}

static void load_controls(const char *path) {
    char err[512];
    void *module = hb_dl_open(path, 0, err, sizeof err); /* same module: refcounted */
    CHECK(module != NULL, "reopening %s: %s", path, err);
    fake.release = (fn_release)control_symbol(module, "fake_release");
    fake.emit = (fn_emit)control_symbol(module, "fake_emit_events");
    fake.live_operations = (fn_count)control_symbol(module, "fake_live_operations");
    fake.live_handles = (fn_count)control_symbol(module, "fake_live_handles");
    fake.strings_outstanding = (fn_count)control_symbol(module, "fake_strings_outstanding");
    fake.double_closes = (fn_count)control_symbol(module, "fake_double_closes");
    fake.gate = (fn_gate)control_symbol(module, "fake_gate");
    fake.sync_inside = (fn_count)control_symbol(module, "fake_sync_inside");
    fake.sync_high_water = (fn_count)control_symbol(module, "fake_sync_high_water");
    fake.sync_made = (fn_count)control_symbol(module, "fake_sync_made");
    fake.sync_threads = (fn_count)control_symbol(module, "fake_sync_threads");
}

/* ---- small helpers ---- */
static void ascii16(char16_t *out, size_t cap, const char *in) {
    size_t i = 0;
    for (; in[i] && i + 1 < cap; i++) out[i] = (unsigned char)in[i];
    out[i] = 0;
}

static void result_named(const char *prefix, const char *name, unsigned long long value) {
    printf("RESULT %s%s=%llu\n", prefix, name, value);
    fflush(stdout);
}

static void result_line(const char *name, unsigned long long value) { result_named("", name, value); }

/* ---- pumping the queue: what hcsaio._dispatch does with its wake-up fd ---- */
typedef void (*record_fn)(const hb_record *rec, void *arg);

typedef struct pump_counts {
    uint64_t drains;     /* hb_dispatcher_drain calls */
    uint64_t wake_bytes; /* bytes read from the socket or eventfd */
} pump_counts;

/* Wait for wake-ups and drain until `expected` records were handled, or
 * nothing arrived for idle_ms (0: do not wait at all). */
static size_t pump(int32_t slot, intptr_t rsock, size_t expected, int idle_ms, record_fn fn,
                   void *arg, pump_counts *pc) {
    size_t handled = 0;
    while (handled < expected) {
        int ready = wt_wait_readable(rsock, idle_ms);
        CHECK(ready >= 0, "waiting on the wake-up socket/eventfd failed");
        if (ready == 0) break;
        pc->wake_bytes += (uint64_t)wt_drain_socket(rsock);
        hb_record *records = NULL;
        size_t n = hb_dispatcher_drain(slot, &records);
        pc->drains++;
        for (size_t i = 0; i < n; i++) fn(&records[i], arg);
        handled += n;
    }
    return handled;
}

/* ---- completions ---- */
#define SEQ_MASK ((((uint64_t)1) << HB_TOKEN_SEQ_BITS) - 1)

/* Sequences for `count` tokens, as hcsaio._dispatch reserves them. */
static uint64_t reserve(uint64_t count) {
    uint64_t first = hb_sequence_reserve(count);
    CHECK(first != 0, "hb_sequence_reserve(%llu) failed", (unsigned long long)count);
    return first;
}

typedef struct completion_batch {
    int32_t lib;
    uint64_t token_high; /* library and slot bits */
    uint64_t first;      /* the batch's first sequence */
    uint32_t count;
    uint8_t *seen;
    size_t received;
} completion_batch;

/* Script of operation `seq` for the fake, and what must come back. */
static void script_for(uint64_t seq, int hold, char16_t *out, size_t cap, int32_t *hr, char *doc,
                       size_t doc_cap) {
    char text[128];
    const char *prefix = hold ? "hold;" : "";
    *hr = S_OK_HR;
    doc[0] = 0;
    if (seq % 7 == 0) {
        *hr = HCS_E_OPERATION_TIMEOUT_HR;
        snprintf(text, sizeof text, "%shr=0x80370118", prefix);
    } else if (seq % 5 == 0) {
        snprintf(doc, doc_cap, "{\"seq\":%llu}", (unsigned long long)seq);
        snprintf(text, sizeof text, "%sdoc=%s", prefix, doc);
    } else {
        snprintf(text, sizeof text, "%s", hold ? "hold" : "");
    }
    ascii16(out, cap, text);
}

static void on_completion_record(const hb_record *rec, void *arg) {
    completion_batch *b = (completion_batch *)arg;
    CHECK(rec->kind == HB_RECORD_COMPLETION, "record kind %u, expected a completion", rec->kind);
    CHECK((rec->token & ~SEQ_MASK) == b->token_high, "token %llx is not this batch's",
          (unsigned long long)rec->token);
    uint64_t seq = rec->token & SEQ_MASK;
    CHECK(seq >= b->first && seq < b->first + b->count, "sequence %llu outside the batch",
          (unsigned long long)seq);
    CHECK(!b->seen[seq - b->first], "operation %llu completed twice", (unsigned long long)seq);
    b->seen[seq - b->first] = 1;
    b->received++;
    char16_t script[160];
    int32_t hr;
    char doc[64];
    script_for(seq, 0, script, 160, &hr, doc, sizeof doc);
    CHECK(rec->status == hr, "operation %llu: HRESULT 0x%08x, expected 0x%08x",
          (unsigned long long)seq, (unsigned)rec->status, (unsigned)hr);
    if (doc[0]) {
        CHECK(rec->doc != NULL && strcmp(rec->doc, doc) == 0 && rec->doc_len == strlen(doc),
              "operation %llu: document %s, expected %s", (unsigned long long)seq,
              rec->doc ? rec->doc : "(null)", doc);
    } else {
        CHECK(rec->doc == NULL, "operation %llu: unexpected document %s", (unsigned long long)seq,
              rec->doc);
    }
    CHECK(rec->operation != NULL, "operation %llu: no operation handle", (unsigned long long)seq);
    hb_free(rec->doc);
    hb_call_HcsCloseOperation(b->lib, rec->operation);
}

static void start_operation(completion_batch *b, HCS_SYSTEM system, uint64_t seq, int hold,
                            HCS_OPERATION_COMPLETION callback) {
    char16_t script[160];
    int32_t hr;
    char doc[64];
    script_for(seq, hold, script, 160, &hr, doc, sizeof doc);
    void *context = (void *)(uintptr_t)(b->token_high | seq);
    HCS_OPERATION op = hb_call_HcsCreateOperation(b->lib, context, callback);
    CHECK(op != NULL, "HcsCreateOperation returned NULL");
    int32_t started = hb_call_HcsStartComputeSystem(b->lib, system, op, script);
    CHECK(started == S_OK_HR, "HcsStartComputeSystem: 0x%08x", (unsigned)started);
}

static void batch_init(completion_batch *b, int32_t lib, uint64_t token_base, uint32_t count) {
    b->lib = lib;
    b->token_high = token_base | ((uint64_t)lib << 56);
    b->first = reserve(count);
    b->count = count;
    b->seen = (uint8_t *)calloc(count, 1);
    b->received = 0;
    CHECK(b->seen != NULL, "out of memory");
}

static void batch_verify(completion_batch *b, const char *phase) {
    CHECK(b->received == b->count, "%s: %zu of %u completions arrived", phase, b->received,
          b->count);
    for (uint32_t i = 0; i < b->count; i++)
        CHECK(b->seen[i], "%s: %llu lost", phase, (unsigned long long)(b->first + i));
    free(b->seen);
}

static void no_stray_record(const hb_record *rec, void *arg) {
    (void)arg;
    fail(__LINE__, "a record arrived after its batch was complete (kind %u token %llx)", rec->kind,
         (unsigned long long)rec->token);
}

/* ---- thread observation ---- */
#define MAX_THREADS 64
static hb_mutex g_thread_lock;
static uint32_t g_threads[MAX_THREADS];
static int g_thread_count;

static void observing_completion(HCS_OPERATION operation, void *context) {
    uint32_t tid = wt_thread_id();
    hb_mutex_lock(&g_thread_lock);
    int known = 0;
    for (int i = 0; i < g_thread_count; i++) known |= g_threads[i] == tid;
    if (!known && g_thread_count < MAX_THREADS) g_threads[g_thread_count++] = tid;
    hb_mutex_unlock(&g_thread_lock);
    hb_on_completion(operation, context);
}

/* ---- events ---- */
typedef struct event_batch {
    uint64_t token;
    int32_t type;
    const char *doc; /* expected UTF-8 document, or NULL */
    size_t received;
} event_batch;

static void on_event_record(const hb_record *rec, void *arg) {
    event_batch *e = (event_batch *)arg;
    CHECK(rec->kind == HB_RECORD_EVENT, "record kind %u, expected an event", rec->kind);
    CHECK(rec->token == e->token, "event token %llx, expected %llx", (unsigned long long)rec->token,
          (unsigned long long)e->token);
    CHECK(rec->status == e->type, "event type 0x%08x, expected 0x%08x", (unsigned)rec->status,
          (unsigned)e->type);
    if (e->doc) {
        CHECK(rec->doc && strcmp(rec->doc, e->doc) == 0, "event data %s", rec->doc ? rec->doc : "(null)");
    } else {
        CHECK(rec->doc == NULL, "event data %s where none was sent", rec->doc);
    }
    hb_free(rec->doc);
    e->received++;
}

/* ---- single records (system creation, process creation) ---- */
typedef struct one_record {
    hb_record rec;
    size_t count;
} one_record;

static void keep_record(const hb_record *rec, void *arg) {
    one_record *o = (one_record *)arg;
    o->rec = *rec;
    o->count++;
}

/* ---- synchronous calls on the worker pool ---- */
#define SYNC_WORKERS 4
#define SYNC_CALLS 16       /* more than the pool: the rest queue */
#define SYNC_QUEUED_GIVEN_UP 4
#define SYNC_RUNNING_GIVEN_UP 2

typedef struct sync_batch {
    int32_t lib;
    hb_sync_call *calls[SYNC_CALLS];
    uint64_t tokens[SYNC_CALLS];
    size_t received;
    int given_up[SYNC_CALLS];
} sync_batch;

static int32_t export_index(const char *name) {
    for (int32_t i = 0; i < hb_export_count(); i++)
        if (strcmp(hb_export_name(i), name) == 0) return i;
    fail(__LINE__, "no export %s", name);
    return -1;
}

static void on_sync_record(const hb_record *rec, void *arg) {
    sync_batch *b = (sync_batch *)arg;
    CHECK(rec->kind == HB_RECORD_COMPLETION && rec->operation == NULL && rec->doc == NULL,
          "a synchronous call's completion is a bare completion record");
    int found = -1;
    for (int i = 0; i < SYNC_CALLS; i++)
        if (b->tokens[i] == rec->token) found = i;
    CHECK(found >= 0, "completion for an unknown token %llx", (unsigned long long)rec->token);
    CHECK(!b->given_up[found], "call %d was given up, yet its completion was queued", found);
    CHECK(rec->status == S_OK_HR, "call %d: 0x%08x", found, (unsigned)rec->status);
    hb_sync_result result;
    CHECK(hb_sync_take(b->calls[found], &result) == 0, "call %d: completion before its results", found);
    CHECK(result.hresult == S_OK_HR && result.count == 1 && result.outs[0].handle != NULL,
          "call %d: no handle returned", found);
    hb_call_HcsCloseComputeSystem(b->lib, (HCS_SYSTEM)result.outs[0].handle);
    hb_sync_release(b->calls[found]);
    b->calls[found] = NULL;
    b->received++;
}

static void wait_for(long (*count)(void), long wanted, const char *what) {
    uint64_t deadline = wt_now_us() + 10000000;
    while (count() != wanted && wt_now_us() < deadline) wt_sleep_ms(2);
    CHECK(count() == wanted, "%s: %ld, expected %ld", what, count(), wanted);
}

static hb_sync_stats sync_stats(void) {
    hb_sync_stats s;
    hb_sync_stats_get(&s);
    return s;
}

static int64_t sync_outstanding(void) { return sync_stats().outstanding; }

static long sync_busy(void) { return (long)sync_stats().busy; }

static void test_sync_calls(int32_t lib, int32_t slot, uint64_t base, intptr_t rsock) {
    pump_counts pc = {0, 0};
    CHECK(hb_sync_start(SYNC_WORKERS) == SYNC_WORKERS, "pool of %d workers", SYNC_WORKERS);
    CHECK(hb_sync_start(32) == SYNC_WORKERS, "a second start resized the pool");
    int32_t open_system = export_index("HcsOpenComputeSystem");
    int32_t service_properties = export_index("HcsGetServiceProperties");
    const char *ins, *outs, *types;
    CHECK(hb_sync_describe(open_system, &ins, &outs, &types) == 1 && strcmp(ins, "si") == 0 &&
          strcmp(outs, "h") == 0 && strcmp(types, "HCS_SYSTEM") == 0,
          "HcsOpenComputeSystem described as %s -> %s (%s)", ins, outs, types);
    CHECK(hb_sync_describe(export_index("HcsCreateComputeSystem"), &ins, &outs, &types) == 0,
          "a call taking a SECURITY_DESCRIPTOR pointer cannot run on the workers");

    long handles_before = fake.live_handles();
    long made_before = fake.sync_made();
    hb_sync_stats s0 = sync_stats();

    /* 16 calls held at the gate: 4 run, 12 queue; never a 5th thread. */
    fake.gate(0);
    sync_batch b;
    memset(&b, 0, sizeof b);
    b.lib = lib;
    hb_sync_arg args[2] = {{0, u"gate"}, {0x10000000u, NULL}};
    for (int i = 0; i < SYNC_CALLS; i++) {
        b.tokens[i] = base | ((uint64_t)lib << 56) | (0xFFFE0000u + (uint32_t)i);
        int32_t hr = hb_sync_submit(lib, open_system, b.tokens[i], args, 2, HB_SYNC_NO_TIMEOUT,
                                    &b.calls[i]);
        CHECK(hr == S_OK_HR && b.calls[i] != NULL, "submit %d: 0x%08x", i, (unsigned)hr);
    }
    wait_for(fake.sync_inside, SYNC_WORKERS, "calls inside the library");
    hb_sync_stats s1 = sync_stats();
    CHECK(s1.workers == SYNC_WORKERS && s1.busy == SYNC_WORKERS &&
              s1.queued == SYNC_CALLS - SYNC_WORKERS,
          "workers %lld busy %lld queued %lld", (long long)s1.workers, (long long)s1.busy,
          (long long)s1.queued);
    /* Give up on the last 4 (still queued: never made) and on 2 running ones
     * (made; their handles must be closed by the bridge). Which calls are
     * running is up to the workers: the first ones queued are. */
    for (int i = SYNC_CALLS - SYNC_QUEUED_GIVEN_UP; i < SYNC_CALLS; i++) {
        hb_sync_release(b.calls[i]);
        b.calls[i] = NULL;
        b.given_up[i] = 1;
    }
    for (int i = 0; i < SYNC_RUNNING_GIVEN_UP; i++) {
        hb_sync_release(b.calls[i]);
        b.calls[i] = NULL;
        b.given_up[i] = 1;
    }
    fake.gate(1);
    size_t wanted = SYNC_CALLS - SYNC_QUEUED_GIVEN_UP - SYNC_RUNNING_GIVEN_UP;
    pump(slot, rsock, wanted, IDLE_TIMEOUT_MS, on_sync_record, &b, &pc);
    CHECK(b.received == wanted, "%zu of %zu completions arrived", b.received, wanted);
    pump(slot, rsock, 1, 300, no_stray_record, NULL, &pc);
    /* The 2 given up while running finish on their own; closing the gate
     * again before they left it would hold them there. */
    wait_for(fake.sync_inside, 0, "calls still inside the library");
    wait_for(sync_busy, 0, "busy workers");
    hb_sync_stats s2 = sync_stats();
    wait_for(fake.live_handles, handles_before, "open handles");
    CHECK(fake.sync_made() - made_before == SYNC_CALLS - SYNC_QUEUED_GIVEN_UP,
          "%ld calls made; the 4 given up while queued must not be",
          fake.sync_made() - made_before);
    CHECK(fake.sync_high_water() <= SYNC_WORKERS && fake.sync_threads() <= SYNC_WORKERS,
          "%ld calls at once on %ld threads, pool of %d", fake.sync_high_water(),
          fake.sync_threads(), SYNC_WORKERS);
    CHECK(s2.skipped - s0.skipped == SYNC_QUEUED_GIVEN_UP, "skipped %llu",
          (unsigned long long)(s2.skipped - s0.skipped));
    CHECK(s2.handles_closed - s0.handles_closed == SYNC_RUNNING_GIVEN_UP, "closed %llu",
          (unsigned long long)(s2.handles_closed - s0.handles_closed));
    result_line("sync_calls_completed", b.received);
    result_line("sync_threads", (unsigned long long)fake.sync_threads());
    result_line("sync_skipped", s2.skipped - s0.skipped);
    result_line("sync_handles_disposed", s2.handles_closed - s0.handles_closed);

    /* A returned string, taken; then one whose completion arrived but whose
     * caller gave up before taking it (freed by the bridge). */
    hb_sync_arg query[1] = {{0, u"gate"}};
    hb_sync_call *text_call;
    uint64_t token = base | ((uint64_t)lib << 56) | 0xFFFD0000u;
    CHECK(hb_sync_submit(lib, service_properties, token, query, 1, 10000, &text_call) == S_OK_HR,
          "submit HcsGetServiceProperties");
    one_record one = {0};
    pump(slot, rsock, 1, IDLE_TIMEOUT_MS, keep_record, &one, &pc);
    CHECK(one.count == 1 && one.rec.token == token && one.rec.status == S_OK_HR,
          "service properties completion");
    hb_sync_result result;
    CHECK(hb_sync_take(text_call, &result) == 0 && result.outs[0].text != NULL &&
              strstr(result.outs[0].text, "SupportedSchemaVersions") != NULL &&
              result.outs[0].text_len == strlen(result.outs[0].text),
          "service properties document");
    hb_free(result.outs[0].text);
    hb_sync_release(text_call);
    CHECK(hb_sync_submit(lib, service_properties, token + 1, query, 1, 10000, &text_call) == S_OK_HR,
          "submit again");
    one.count = 0;
    pump(slot, rsock, 1, IDLE_TIMEOUT_MS, keep_record, &one, &pc);
    hb_sync_stats s3 = sync_stats();
    hb_sync_release(text_call); /* finished, never taken */
    hb_sync_stats s4 = sync_stats();
    CHECK(s4.texts_freed - s3.texts_freed == 1 && s4.disposed - s3.disposed == 1,
          "an untaken result was not disposed of");

    /* A deadline that passes while queued: the call is not made. */
    fake.gate(0);
    hb_sync_call *blockers[SYNC_WORKERS], *late;
    for (int i = 0; i < SYNC_WORKERS; i++)
        CHECK(hb_sync_submit(lib, open_system, token + 10 + (uint64_t)i, args, 2, HB_SYNC_NO_TIMEOUT,
                             &blockers[i]) == S_OK_HR, "blocker %d", i);
    wait_for(fake.sync_inside, SYNC_WORKERS, "blockers inside");
    long made = fake.sync_made();
    CHECK(hb_sync_submit(lib, open_system, token + 20, args, 2, 1, &late) == S_OK_HR, "late call");
    wt_sleep_ms(20);
    for (int i = 0; i < SYNC_WORKERS; i++) hb_sync_release(blockers[i]);
    fake.gate(1);
    one.count = 0;
    pump(slot, rsock, 1, IDLE_TIMEOUT_MS, keep_record, &one, &pc);
    CHECK(one.count == 1 && one.rec.token == token + 20 &&
              one.rec.status == HCS_E_OPERATION_TIMEOUT_HR,
          "a call past its deadline completed with 0x%08x", (unsigned)one.rec.status);
    CHECK(hb_sync_take(late, &result) == 0 && result.outs[0].handle == NULL, "late results");
    hb_sync_release(late);
    CHECK(fake.sync_made() == made, "a call past its deadline was made");
    wait_for(fake.sync_inside, 0, "blockers still inside the library");
    wait_for(sync_busy, 0, "busy workers");
    wait_for(fake.live_handles, handles_before, "handles after the blockers");

    /* The loop went away: a completion for a closed dispatcher is dropped,
     * and the call's results are still disposed of when it is released. */
    intptr_t r2, w2;
    CHECK(wt_socketpair(&r2, &w2, 1) == 0, "socket pair");
    uint64_t base2;
    int32_t slot2 = hb_dispatcher_open(HB_WAKE_SOCKET, w2, &base2);
    CHECK(slot2 >= 1, "dispatcher for the orphan case");
    fake.gate(0);
    hb_sync_call *orphan;
    CHECK(hb_sync_submit(lib, open_system, base2 | ((uint64_t)lib << 56) | 7u, args, 2,
                         HB_SYNC_NO_TIMEOUT, &orphan) == S_OK_HR, "orphan submit");
    wait_for(fake.sync_inside, 1, "orphan inside");
    hb_dispatcher_close(slot2);
    fake.gate(1);
    wait_for(fake.sync_inside, 0, "orphan done");
    hb_sync_stats s5 = sync_stats();
    hb_sync_release(orphan);
    hb_sync_stats s6 = sync_stats();
    CHECK(s6.handles_closed - s5.handles_closed == 1, "the orphan's handle was not closed");
    wait_for(fake.live_handles, handles_before, "handles after the orphan");
    CHECK(sync_outstanding() == 0, "%lld calls never freed", (long long)sync_outstanding());
    result_line("sync_orphan_disposed", 1);
    wt_close_socket(r2);
    wt_close_socket(w2);
}

/* ================================================================ */

static void test_loader(const char *dir, const char *fake_path) {
    char err[512];
    /* By bare name (the platform's search) and by full path: both fail
     * cleanly, and the message says which library. */
    char by_path[1100];
    snprintf(by_path, sizeof by_path, "%s" SEP MISSING_NAME, dir);
    const char *missing[2] = {MISSING_NAME, by_path};
    for (int i = 0; i < 2; i++) {
        int32_t flags = i == 0 ? HB_LOAD_SEARCH_SYSTEM32 : 0;
        int32_t rc = hb_library_open(missing[i], flags, err, sizeof err);
        printf("missing library: 0x%08x %s\n", (unsigned)rc, err);
        CHECK(rc == E_MOD_NOT_FOUND_HR, "a missing library gave 0x%08x, not E_MOD_NOT_FOUND",
              (unsigned)rc);
        CHECK(strstr(err, MISSING_NAME) != NULL, "the message does not name the library: %s", err);
#ifdef _WIN32
        CHECK(strstr(err, "LoadLibraryExW(") && strstr(err, "126"), "unhelpful message: %s", err);
#endif
    }
    result_line("missing_library_fails", 1);

#ifdef _WIN32
    /* A copy of a "computecore.dll" next to the executable: the System32-only
     * search must not pick it up (checked before anything loads that name,
     * since an already-loaded module is matched by name). */
    char planted[1024];
    snprintf(planted, sizeof planted, "%s\\computecore.dll", dir);
    CHECK(wt_copy_file(fake_path, planted) == 0, "cannot plant %s", planted);
    int32_t rc = hb_library_open("computecore.dll", HB_LOAD_SEARCH_SYSTEM32, err, sizeof err);
    printf("computecore.dll, System32 only, planted copy beside the exe: 0x%08x %s\n",
           (unsigned)rc, err);
    CHECK(rc == E_MOD_NOT_FOUND_HR, "System32-only loading gave 0x%08x (picked up the planted copy?)",
          (unsigned)rc);
    result_line("system32_only_ignores_planted_dll", 1);

    rc = hb_library_open("computecore.dll", 0, err, sizeof err);
    CHECK(rc >= 1, "the default search did not find the planted copy either (0x%08x %s): the "
          "previous check proved nothing", (unsigned)rc, err);
    printf("computecore.dll, default search: loaded the planted copy (library %d)\n", rc);
#else
    /* dlopen has no System32 to restrict to (hb_dl_open ignores the flag);
     * the fake is opened by absolute path in open_fake. */
    (void)fake_path;
#endif
}

static int32_t open_fake(const char *path) {
    char err[512];
    int32_t lib = hb_library_open(path, 0, err, sizeof err);
    CHECK(lib >= 1, "opening %s: 0x%08x %s", path, (unsigned)lib, err);
    int32_t total = hb_export_count(), resolved = 0;
    for (int32_t i = 0; i < total; i++) resolved += hb_library_has_export(lib, i) == 1;
    printf("fake computecore: library %d, %d of %d exports resolved\n", lib, resolved, total);
    result_line("exports_resolved", (unsigned long long)resolved);
    CHECK(resolved > 10 && resolved < total, "unexpected export count %d", resolved);
    /* The same library again: one index, one table. */
    int32_t again = hb_library_open(path, 0, err, sizeof err);
    CHECK(again == lib, "reopening %s gave library %d, not %d", path, again, lib);
    /* A missing export is NULL in the table; its wrapper reports it. */
    PWSTR doc = NULL;
    int32_t hr = hb_call_HcsGetOperationProperties(lib, NULL, u"", &doc);
    CHECK(hr == E_PROC_NOT_FOUND_HR && doc == NULL, "missing export: 0x%08x", (unsigned)hr);
    return lib;
}

static HCS_SYSTEM create_system(int32_t lib, uint64_t token_base, int32_t slot, intptr_t rsock,
                                pump_counts *pc) {
    uint64_t token = token_base | ((uint64_t)lib << 56) | reserve(1);
    HCS_OPERATION op = hb_call_HcsCreateOperation(lib, (void *)(uintptr_t)token, hb_on_completion);
    HCS_SYSTEM system = NULL;
    int32_t hr = hb_call_HcsCreateComputeSystem(lib, u"bridge-test-system", u"", op, NULL, &system);
    CHECK(hr == S_OK_HR && system != NULL, "HcsCreateComputeSystem: 0x%08x", (unsigned)hr);
    one_record one = {0};
    pump(slot, rsock, 1, IDLE_TIMEOUT_MS, keep_record, &one, pc);
    CHECK(one.count == 1 && one.rec.token == token && one.rec.status == S_OK_HR,
          "create completion missing or wrong");
    hb_call_HcsCloseOperation(lib, one.rec.operation);
    return system;
}

/* Completions through dispatcher `slot`, whose wake-up is `wake_kind` read
 * through rsock. The socket run reports plain names, the eventfd run
 * "eventfd_"-prefixed ones. */
static void test_completions(int32_t lib, HCS_SYSTEM system, int32_t slot, uint64_t base,
                             intptr_t rsock, int32_t wake_kind) {
    const char *rp = wake_kind == HB_WAKE_EVENTFD ? "eventfd_" : "";
    hb_stats before, after;
    pump_counts pc = {0, 0};

    /* A: started in batches while the loop drains between them. */
    completion_batch a;
    batch_init(&a, lib, base, PHASE_A);
    hb_dispatcher_stats(slot, &before);
    uint64_t t0 = wt_now_us();
    for (uint32_t i = 0; i < PHASE_A; i++) {
        start_operation(&a, system, a.first + i, 0, hb_on_completion);
        if (i % 500 == 499) pump(slot, rsock, PHASE_A, 0, on_completion_record, &a, &pc);
    }
    pump(slot, rsock, PHASE_A - a.received, IDLE_TIMEOUT_MS, on_completion_record, &a, &pc);
    uint64_t t1 = wt_now_us();
    batch_verify(&a, "interleaved completions");
    pump(slot, rsock, 1, 300, no_stray_record, NULL, &pc);
    hb_dispatcher_stats(slot, &after);
    result_named(rp, "interleaved_completions", PHASE_A);
    result_named(rp, "interleaved_wakes", after.wakes - before.wakes);
    result_named(rp, "interleaved_drains", pc.drains);
    result_named(rp, "interleaved_us", t1 - t0);
    /* Edge-triggered wake-ups: each needs a re-arm, and only a drain re-arms. */
    CHECK(after.wakes - before.wakes <= pc.drains + 1, "more wake-ups (%llu) than re-arms (%llu)",
          (unsigned long long)(after.wakes - before.wakes), (unsigned long long)pc.drains);

    /* B: a burst, released at once to the fake's 8 worker threads. */
    completion_batch b;
    batch_init(&b, lib, base, PHASE_B);
    for (uint32_t i = 0; i < PHASE_B; i++) start_operation(&b, system, b.first + i, 1, hb_on_completion);
    hb_dispatcher_stats(slot, &before);
    pump_counts burst = {0, 0};
    t0 = wt_now_us();
    uint32_t released = fake.release();
    CHECK(released == PHASE_B, "released %u of %u held operations", released, PHASE_B);
    pump(slot, rsock, PHASE_B, IDLE_TIMEOUT_MS, on_completion_record, &b, &burst);
    t1 = wt_now_us();
    batch_verify(&b, "burst");
    pump(slot, rsock, 1, 300, no_stray_record, NULL, &burst);
    hb_dispatcher_stats(slot, &after);
    result_named(rp, "burst_completions", PHASE_B);
    result_named(rp, "burst_wakes", after.wakes - before.wakes);
    result_named(rp, "burst_drains", burst.drains);
    result_named(rp, "burst_wake_bytes", burst.wake_bytes);
    result_named(rp, "burst_high_water", after.high_water);
    result_named(rp, "burst_us", t1 - t0);
    CHECK(after.wakes - before.wakes <= burst.drains + 1, "burst: more wake-ups than re-arms");
    CHECK(after.wakes - before.wakes < PHASE_B, "burst: one wake-up per completion, no batching");
    if (wake_kind == HB_WAKE_EVENTFD) {
        /* Each read takes the whole 8-byte counter, however many wake-ups
         * added to it: never more reads than wake-ups. */
        CHECK(burst.wake_bytes % 8 == 0 && burst.wake_bytes / 8 <= after.wakes - before.wakes,
              "eventfd: %llu bytes read for %llu wake-ups", (unsigned long long)burst.wake_bytes,
              (unsigned long long)(after.wakes - before.wakes));
    }

    /* C: the callbacks run on the fake's threads, not ours. */
    hb_mutex_lock(&g_thread_lock);
    g_thread_count = 0;
    hb_mutex_unlock(&g_thread_lock);
    completion_batch c;
    batch_init(&c, lib, base, PHASE_C);
    for (uint32_t i = 0; i < PHASE_C; i++) start_operation(&c, system, c.first + i, 0, observing_completion);
    pump(slot, rsock, PHASE_C, IDLE_TIMEOUT_MS, on_completion_record, &c, &pc);
    batch_verify(&c, "observed completions");
    uint32_t me = wt_thread_id();
    for (int i = 0; i < g_thread_count; i++) CHECK(g_threads[i] != me, "a callback ran on the waiting thread");
    result_named(rp, "callback_threads", (unsigned long long)g_thread_count);
    CHECK(g_thread_count >= 2, "completions came from %d thread(s); the fake has 8", g_thread_count);
}

#ifndef _WIN32
/* The eventfd wake-up (Linux only; Windows has the socket alone): a second
 * dispatcher whose wake-up is an eventfd, through the same completion runs. */
static void test_eventfd_wake(int32_t lib, HCS_SYSTEM system) {
    intptr_t efd;
    CHECK(wt_eventfd(&efd) == 0, "cannot make an eventfd");
    uint64_t base;
    int32_t slot = hb_dispatcher_open(HB_WAKE_EVENTFD, efd, &base);
    CHECK(slot >= 1, "hb_dispatcher_open(HB_WAKE_EVENTFD) failed");
    test_completions(lib, system, slot, base, efd, HB_WAKE_EVENTFD);
    hb_dispatcher_close(slot);
    wt_close_socket(efd);
}
#endif

static void test_events(int32_t lib, HCS_SYSTEM system, int32_t slot, uint64_t base, intptr_t rsock) {
    pump_counts pc = {0, 0};
    uint64_t token = base | ((uint64_t)lib << 56) | reserve(1);
    int32_t hr = hb_call_HcsSetComputeSystemCallback(lib, system, HcsEventOptionNone,
                                                     (void *)(uintptr_t)token, hb_on_event);
    CHECK(hr == S_OK_HR, "HcsSetComputeSystemCallback: 0x%08x", (unsigned)hr);

    const uint32_t total = EVENT_THREADS * EVENTS_PER_THREAD;
    event_batch e = {token, HcsEventSystemExited, "{\"ExitType\":\"GracefulExit\"}", 0};
    CHECK(fake.emit(system, EVENT_THREADS, EVENTS_PER_THREAD, HcsEventSystemExited,
                    u"{\"ExitType\":\"GracefulExit\"}", 0) == 0, "fake_emit_events failed");
    pump(slot, rsock, total, IDLE_TIMEOUT_MS, on_event_record, &e, &pc);
    CHECK(e.received == total, "%zu of %u events arrived", e.received, total);
    pump(slot, rsock, 1, 300, no_stray_record, NULL, &pc);
    result_line("events", e.received);

    event_batch nodata = {token, (int32_t)HcsEventServiceDisconnect, NULL, 0};
    CHECK(fake.emit(system, 4, 100, (int32_t)HcsEventServiceDisconnect, NULL, 0) == 0, "emit failed");
    pump(slot, rsock, 400, IDLE_TIMEOUT_MS, on_event_record, &nodata, &pc);
    CHECK(nodata.received == 400, "%zu of 400 data-less events arrived", nodata.received);

    /* Close while 8 threads are still firing: what arrived before the close
     * returns is all there will ever be. */
    event_batch racing = {token, HcsEventSystemExited, "{\"ExitType\":\"GracefulExit\"}", 0};
    CHECK(fake.emit(system, EVENT_THREADS, 20000, HcsEventSystemExited,
                    u"{\"ExitType\":\"GracefulExit\"}", 1) == 0, "emit failed");
    hb_call_HcsCloseComputeSystem(lib, system);
    hb_record *records;
    size_t n = hb_dispatcher_drain(slot, &records);
    for (size_t i = 0; i < n; i++) on_event_record(&records[i], &racing);
    size_t before_close = racing.received;
    wt_sleep_ms(300);
    wt_drain_socket(rsock);
    n = hb_dispatcher_drain(slot, &records);
    CHECK(n == 0, "%zu events arrived after HcsCloseComputeSystem returned", n);
    result_line("events_before_close", before_close);
    result_line("events_after_close", 0);
}

static void test_process(int32_t lib, int32_t slot, uint64_t base, intptr_t rsock, pump_counts *pc) {
    HCS_SYSTEM system = create_system(lib, base, slot, rsock, pc);
    uint64_t token = base | ((uint64_t)lib << 56) | reserve(1);
    HCS_OPERATION op = hb_call_HcsCreateOperation(lib, (void *)(uintptr_t)token, hb_on_completion);
    HCS_PROCESS process = NULL;
    int32_t hr = hb_call_HcsCreateProcess(lib, system, u"", op, NULL, &process);
    CHECK(hr == S_OK_HR && process != NULL, "HcsCreateProcess: 0x%08x", (unsigned)hr);
    one_record one = {0};
    pump(slot, rsock, 1, IDLE_TIMEOUT_MS, keep_record, &one, pc);
    CHECK(one.count == 1 && one.rec.token == token && one.rec.status == S_OK_HR, "process completion");
    CHECK(one.rec.has_process_info && one.rec.process_info.ProcessId != 0, "no process information");
    HANDLE in = one.rec.process_info.StdInput, out = one.rec.process_info.StdOutput;
    CHECK(wt_is_pipe(in) && wt_is_pipe(out), "std handles are not pipes");
    CHECK(wt_pipe_roundtrip(in, out) == 0, "the std pipes do not carry data");
    result_line("process_pipe_handles_work", 1);
    wt_close_handle(in);
    wt_close_handle(out);
    hb_call_HcsCloseOperation(lib, one.rec.operation);
    hb_call_HcsCloseProcess(lib, process);
    hb_call_HcsCloseComputeSystem(lib, system);
}

static void test_orphans(int32_t lib, HCS_SYSTEM system) {
    intptr_t rsock, wsock;
    CHECK(wt_socketpair(&rsock, &wsock, 1) == 0, "socket pair");
    uint64_t base;
    int32_t slot = hb_dispatcher_open(HB_WAKE_SOCKET, wsock, &base);
    CHECK(slot >= 1, "second dispatcher");
    hb_global_stats g0;
    hb_global_stats_get(&g0);
    completion_batch o;
    batch_init(&o, lib, base, ORPHANS);
    for (uint32_t i = 0; i < ORPHANS; i++) start_operation(&o, system, o.first + i, 1, hb_on_completion);
    hb_dispatcher_close(slot); /* the loop went away with operations in flight */
    CHECK(fake.release() == ORPHANS, "release");
    hb_global_stats g1;
    uint64_t deadline = wt_now_us() + 10000000;
    do {
        wt_sleep_ms(10);
        hb_global_stats_get(&g1);
    } while (g1.orphaned - g0.orphaned < ORPHANS && wt_now_us() < deadline);
    CHECK(g1.orphaned - g0.orphaned == ORPHANS, "%llu of %u late completions disposed of",
          (unsigned long long)(g1.orphaned - g0.orphaned), ORPHANS);
    free(o.seen);
    result_line("orphans_disposed", g1.orphaned - g0.orphaned);
    wt_close_socket(rsock);
    wt_close_socket(wsock);
}

/* A late completion for a closed dispatcher's token stays an orphan after
 * its slot was reopened thousands of times: a slot accepts only sequences
 * reserved after it opened, and none is ever handed out twice (a 12-bit
 * generation, advanced at each open and close, came round every 2048). */
static void test_stale_token(int32_t lib, HCS_SYSTEM system) {
    intptr_t rsock, wsock;
    CHECK(wt_socketpair(&rsock, &wsock, 1) == 0, "socket pair");
    uint64_t base;
    int32_t slot = hb_dispatcher_open(HB_WAKE_SOCKET, wsock, &base);
    CHECK(slot >= 1, "stale-token dispatcher");
    completion_batch late;
    batch_init(&late, lib, base, 1);
    start_operation(&late, system, late.first, 1, hb_on_completion); /* held */
    hb_dispatcher_close(slot);
    for (int i = 0; i < 5000; i++) {
        uint64_t again_base;
        int32_t again = hb_dispatcher_open(HB_WAKE_NONE, 0, &again_base);
        CHECK(again == slot, "cycle %d opened slot %d, not %d", i, again, slot);
        hb_dispatcher_close(again);
    }
    uint64_t reopened_base;
    int32_t reopened = hb_dispatcher_open(HB_WAKE_SOCKET, wsock, &reopened_base);
    CHECK(reopened == slot && reopened_base == base, "the slot was not reused");
    hb_global_stats g0, g1;
    hb_global_stats_get(&g0);
    CHECK(fake.release() == 1, "release the late completion");
    uint64_t deadline = wt_now_us() + 10000000;
    do {
        wt_sleep_ms(5);
        hb_global_stats_get(&g1);
    } while (g1.orphaned == g0.orphaned && wt_now_us() < deadline);
    CHECK(g1.orphaned == g0.orphaned + 1, "the stale completion was not disposed of");
    hb_record *records = NULL;
    size_t n = hb_dispatcher_drain(reopened, &records);
    CHECK(n == 0, "a stale token reached the dispatcher that reused its slot");
    result_line("stale_token_rejected", 1);
    free(late.seen);
    hb_dispatcher_close(reopened);
    wt_close_socket(rsock);
    wt_close_socket(wsock);
}

static void test_no_leaks(long handles_at_start) {
    uint64_t deadline = wt_now_us() + 5000000;
    while ((fake.live_operations() != 0 || fake.strings_outstanding() != 0) && wt_now_us() < deadline)
        wt_sleep_ms(10);
    hb_global_stats g;
    hb_global_stats_get(&g);
    CHECK(fake.double_closes() == 0, "an operation was closed twice");
    CHECK(fake.live_operations() == 0, "%ld operations never closed", fake.live_operations());
    CHECK(fake.live_handles() == 0, "%ld handles never closed", fake.live_handles());
    CHECK(fake.strings_outstanding() == 0, "%ld returned strings never freed", fake.strings_outstanding());
    CHECK(g.docs_outstanding == 0, "%lld UTF-8 documents never freed", (long long)g.docs_outstanding);
    CHECK(g.dispatchers_open == 0, "%lld dispatchers still open", (long long)g.dispatchers_open);
    hb_sync_stats s;
    hb_sync_stats_get(&s);
    CHECK(s.outstanding == 0 && s.busy == 0 && s.queued == 0, "%lld synchronous calls not freed",
          (long long)s.outstanding);
    /* Every socket, eventfd and process pipe closed (not counted on Windows). */
    long handles_now = wt_open_handles();
    if (handles_at_start >= 0) {
        CHECK(handles_now == handles_at_start, "%ld handles open at the start, %ld at the end",
              handles_at_start, handles_now);
        result_line("handles_leaked", 0);
    }
    result_line("leaks", 0);
}

int main(void) {
    char dir[1024], fake_path[1100];
    CHECK(wt_init() == 0, "platform setup (WSAStartup) failed");
    long handles_at_start = wt_open_handles();
    CHECK(wt_exe_dir(dir, sizeof dir) == 0, "cannot find the executable's directory");
    snprintf(fake_path, sizeof fake_path, "%s" SEP FAKE_NAME, dir);
    hb_mutex_init(&g_thread_lock);

    test_loader(dir, fake_path);
    int32_t lib = open_fake(fake_path);
    load_controls(fake_path);

    intptr_t rsock, wsock;
    CHECK(wt_socketpair(&rsock, &wsock, 1) == 0, "cannot make a socket pair");
    uint64_t base;
    int32_t slot = hb_dispatcher_open(HB_WAKE_SOCKET, wsock, &base);
    CHECK(slot >= 1, "hb_dispatcher_open failed");
    pump_counts pc = {0, 0};

    HCS_SYSTEM system = create_system(lib, base, slot, rsock, &pc);
    test_completions(lib, system, slot, base, rsock, HB_WAKE_SOCKET);
#ifndef _WIN32
    test_eventfd_wake(lib, system);
#endif
    test_orphans(lib, system);
    test_stale_token(lib, system);
    test_events(lib, system, slot, base, rsock); /* closes the system */
    test_process(lib, slot, base, rsock, &pc);
    test_sync_calls(lib, slot, base, rsock);

    hb_dispatcher_close(slot);
    wt_close_socket(rsock);
    wt_close_socket(wsock);
    test_no_leaks(handles_at_start);
    hb_mutex_destroy(&g_thread_lock);
#ifdef _WIN32
    printf("wine bridge test passed\n"); /* what tests/windows/test_wine_bridge.py looks for */
#else
    printf("native bridge test passed\n");
#endif
    return 0;
}
