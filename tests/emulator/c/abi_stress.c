/*
 * abi_stress.c - libhcsemu driven from C, built with the library's sources
 * under a sanitizer (AddressSanitizer + UBSan with leak detection, or
 * ThreadSanitizer) by test_sanitizers.py.
 *
 *   abi_stress work        threads creating, starting, running processes in,
 *                          shutting down and closing systems concurrently, with
 *                          callbacks, cancellation, closes during callbacks
 *   abi_stress disconnect  leaves operations, waits and callbacks pending, prints
 *                          "pending", and expects them all to end with
 *                          HCS_E_SERVICE_DISCONNECT once the test kills the service
 *
 * Exit 0 on success; a failed check prints where and exits 1.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hcs_defs.h"
#include "hcs_errors.h"

/* The exports, from the same PFN_ types the library is checked against. */
#define DECLARE(name) extern __typeof__(*(PFN_##name)0) name;
DECLARE(HcsCreateOperation)
DECLARE(HcsCloseOperation)
DECLARE(HcsGetOperationResult)
DECLARE(HcsGetOperationResultAndProcessInfo)
DECLARE(HcsWaitForOperationResult)
DECLARE(HcsWaitForOperationResultAndProcessInfo)
DECLARE(HcsCancelOperation)
DECLARE(HcsGetOperationContext)
DECLARE(HcsEnumerateComputeSystems)
DECLARE(HcsCreateComputeSystem)
DECLARE(HcsCloseComputeSystem)
DECLARE(HcsStartComputeSystem)
DECLARE(HcsShutDownComputeSystem)
DECLARE(HcsTerminateComputeSystem)
DECLARE(HcsGetComputeSystemProperties)
DECLARE(HcsSetComputeSystemCallback)
DECLARE(HcsWaitForComputeSystemExit)
DECLARE(HcsCreateProcess)
DECLARE(HcsCloseProcess)
DECLARE(HcsSetProcessCallback)
DECLARE(HcsWaitForProcessExit)
DECLARE(HcsTerminateProcess)
DECLARE(HcsModifyServiceSettings)
DECLARE(LocalFree)

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

/* ASCII to a fresh UTF-16 string. */
static char16_t *w(const char *s) {
    size_t n = strlen(s);
    char16_t *out = malloc((n + 1) * sizeof *out);
    CHECK(out != NULL);
    for (size_t i = 0; i <= n; i++) {
        out[i] = (unsigned char)s[i];
    }
    return out;
}

static HRESULT wait_op(HCS_OPERATION op) {
    PWSTR doc = NULL;
    HRESULT hr = HcsWaitForOperationResult(op, 60000, &doc);
    LocalFree(doc);
    return hr;
}

static HRESULT run_system_op(PFN_HcsStartComputeSystem fn, HCS_SYSTEM system, const char *options) {
    HCS_OPERATION op = HcsCreateOperation(NULL, NULL);
    CHECK(op != NULL);
    char16_t *opts = w(options);
    HRESULT hr = fn(system, op, opts);
    if (hr >= 0) {
        hr = wait_op(op);
    }
    free(opts);
    HcsCloseOperation(op);
    return hr;
}

/* Counters the callbacks bump, and a condition to wait for them on. */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_changed = PTHREAD_COND_INITIALIZER;
static int g_events, g_completions, g_disconnects;

static void bump(int *counter) {
    pthread_mutex_lock(&g_lock);
    (*counter)++;
    pthread_cond_broadcast(&g_changed);
    pthread_mutex_unlock(&g_lock);
}

/* Wait (at most a minute) until *counter reaches at least `wanted`. */
static int reached(int *counter, int wanted) {
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 60;
    pthread_mutex_lock(&g_lock);
    int rc = 0;
    while (*counter < wanted && rc == 0) {
        rc = pthread_cond_timedwait(&g_changed, &g_lock, &deadline);
    }
    int value = *counter;
    pthread_mutex_unlock(&g_lock);
    return value >= wanted;
}

static void on_event(HCS_EVENT *event, void *context) {
    (void)context;
    CHECK(event != NULL);
    bump(&g_events);
}

/* Completion that fetches, frees and closes inside the callback, as the
 * documented sample does. */
static void on_completion(HCS_OPERATION op, void *context) {
    CHECK(HcsGetOperationContext(op) == context);
    PWSTR doc = NULL;
    HcsGetOperationResult(op, &doc);
    LocalFree(doc);
    HcsCloseOperation(op);
    bump(&g_completions);
}

static void one_system(int thread, int round) {
    char id[64];
    snprintf(id, sizeof id, "stress-%d-%d-%d", (int)getpid(), thread, round);
    char16_t *wid = w(id);
    char16_t *config =
        w("{\"SchemaVersion\":{\"Major\":2,\"Minor\":1},\"Owner\":\"c\",\"Container\":{}}");
    HCS_SYSTEM system = NULL;
    HCS_OPERATION op = HcsCreateOperation(NULL, NULL);
    CHECK(HcsCreateComputeSystem(wid, config, op, NULL, &system) == S_OK_HR);
    CHECK(wait_op(op) == S_OK_HR);
    HcsCloseOperation(op);
    CHECK(HcsSetComputeSystemCallback(system, 0, NULL, on_event) == S_OK_HR);
    CHECK(run_system_op(HcsStartComputeSystem, system, "") == S_OK_HR);

    /* a process with pipes: read its output, own and close the fds */
    char16_t *params = w("{\"CommandArgs\":[\"sh\",\"-c\",\"echo hi\"],\"CreateStdOutPipe\":true,"
                         "\"CreateStdErrPipe\":true}");
    HCS_PROCESS process = NULL;
    op = HcsCreateOperation(NULL, NULL);
    CHECK(HcsCreateProcess(system, params, op, NULL, &process) == S_OK_HR);
    HCS_PROCESS_INFORMATION info;
    PWSTR doc = NULL;
    CHECK(HcsWaitForOperationResultAndProcessInfo(op, 60000, &info, &doc) == S_OK_HR);
    LocalFree(doc);
    HcsCloseOperation(op);
    CHECK(HcsSetProcessCallback(process, 0, NULL, on_event) == S_OK_HR);
    int out = (int)(intptr_t)info.StdOutput;
    char buf[16] = {0};
    CHECK(out >= 3 && read(out, buf, sizeof buf - 1) == 3 && strcmp(buf, "hi\n") == 0);
    close(out);
    close((int)(intptr_t)info.StdError);
    PWSTR status = NULL;
    CHECK(HcsWaitForProcessExit(process, 60000, &status) == S_OK_HR && status != NULL);
    LocalFree(status);

    /* operations whose completions close themselves on the pool */
    for (int i = 0; i < 8; i++) {
        HCS_OPERATION async = HcsCreateOperation((void *)(intptr_t)(i + 1), on_completion);
        CHECK(HcsGetComputeSystemProperties(system, async, NULL) == S_OK_HR);
    }
    /* one closed while it runs, one cancelled */
    op = HcsCreateOperation(NULL, on_completion);
    CHECK(HcsGetComputeSystemProperties(system, op, NULL) == S_OK_HR);
    HcsCloseOperation(op);
    op = HcsCreateOperation(NULL, NULL);
    CHECK(HcsGetComputeSystemProperties(system, op, NULL) == S_OK_HR);
    HcsCancelOperation(op);
    HRESULT hr = wait_op(op);
    CHECK(hr == S_OK_HR || hr == E_CANCELLED_HR);
    HcsCloseOperation(op);

    HcsCloseProcess(process);
    hr = run_system_op(round % 2 ? HcsShutDownComputeSystem : HcsTerminateComputeSystem, system,
                       round % 2 ? "{\"Force\":true}" : "");
    CHECK(hr == S_OK_HR);
    HcsCloseComputeSystem(system);
    free(params);
    free(config);
    free(wid);
}

static void *worker(void *arg) {
    int thread = (int)(intptr_t)arg;
    for (int round = 0; round < 6; round++) {
        one_system(thread, round);
    }
    return NULL;
}

static int work(void) {
    enum { THREADS = 6 };
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++) {
        CHECK(pthread_create(&threads[i], NULL, worker, (void *)(intptr_t)i) == 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
    }
    /* every self-closing completion ran: 8 per system (the closed one never) */
    CHECK(reached(&g_completions, THREADS * 6 * 8));
    CHECK(g_completions == THREADS * 6 * 8);
    CHECK(reached(&g_events, THREADS * 6));
    return 0;
}

static void on_disconnect(HCS_EVENT *event, void *context) {
    (void)context;
    if (event->Type == HcsEventServiceDisconnect) {
        bump(&g_disconnects);
    }
}

static int disconnect(void) {
    char16_t *faults = w("{\"PropertyType\":\"EmulatorFaults\",\"Settings\":{\"Delays\":"
                         "{\"GetProperties\":600}}}");
    CHECK(HcsModifyServiceSettings(faults, NULL) == S_OK_HR);
    char16_t *id = w("stress-disconnect");
    char16_t *config = w("{\"SchemaVersion\":{\"Major\":2,\"Minor\":1},\"Container\":{}}");
    HCS_SYSTEM system = NULL;
    HCS_OPERATION op = HcsCreateOperation(NULL, NULL);
    CHECK(HcsCreateComputeSystem(id, config, op, NULL, &system) == S_OK_HR);
    CHECK(wait_op(op) == S_OK_HR);
    HcsCloseOperation(op);
    CHECK(HcsSetComputeSystemCallback(system, 0, NULL, on_disconnect) == S_OK_HR);
    enum { PENDING = 64 };
    HCS_OPERATION ops[PENDING];
    for (int i = 0; i < PENDING; i++) {
        ops[i] = HcsCreateOperation(NULL, i % 2 ? on_completion : NULL);
        CHECK(HcsGetComputeSystemProperties(system, ops[i], NULL) == S_OK_HR);
    }
    printf("pending\n");
    fflush(stdout);
    PWSTR doc = NULL;
    CHECK(HcsWaitForComputeSystemExit(system, HCS_INFINITE, &doc) == HCS_E_SERVICE_DISCONNECT_HR);
    LocalFree(doc);
    for (int i = 0; i < PENDING; i += 2) {
        CHECK(wait_op(ops[i]) == HCS_E_SERVICE_DISCONNECT_HR);
        HcsCloseOperation(ops[i]);
    }
    CHECK(reached(&g_completions, PENDING / 2) && g_completions == PENDING / 2);
    CHECK(reached(&g_disconnects, 1) && g_disconnects == 1);
    HcsCloseComputeSystem(system);
    free(faults);
    free(id);
    free(config);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "work") == 0) {
        return work();
    }
    if (argc == 2 && strcmp(argv[1], "disconnect") == 0) {
        return disconnect();
    }
    fprintf(stderr, "usage: %s work|disconnect\n", argv[0]);
    return 2;
}
