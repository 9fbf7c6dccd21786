/*
 * workers.c - synchronous exports on a small pool of native threads.
 *
 * (docs/bridge.md, "Synchronous calls".)
 *
 * Why: HcsOpen*, the service calls, and every HCN, computestorage and
 * vmcompute call block until they are done (libhcsemu's may wait for a
 * connection to the service); on an event loop's thread that stalls every
 * task. A Python thread per call would take the GIL back and forth and
 * grow without bound under load. Here a fixed handful of native threads
 * (started once, never one per call) makes the calls and reports each
 * completion through the dispatcher queue, like an HCS callback would.
 *
 * Life of a call (one mutex, g_pool.lock, guards every field marked so):
 *   QUEUED  - submitted; a worker that finds it released drops it unmade;
 *   RUNNING - a worker is inside the export (no lock held);
 *   DONE    - results stored; the worker pushes {token, COMPLETION, hr}
 *             unless the caller has already released the call, in which
 *             case it disposes of the results itself.
 * The call struct is freed by whoever comes last: hb_sync_release on a DONE
 * call, or the worker for a call released earlier. So a caller may stop
 * waiting at any moment (timeout, cancellation, its loop closing) without
 * leaking what the call returns and without freeing what a worker uses.
 */
#include <stdlib.h>
#include <string.h>

#include "bridge_internal.h"
#include "platform.h"

enum { HB_CALL_QUEUED = 0, HB_CALL_RUNNING = 1, HB_CALL_DONE = 2 };

struct hb_sync_call {
    hb_sync_call *next;         /* queue link; guarded */
    int32_t lib;
    int32_t export_index;
    uint64_t token;
    uint64_t deadline_ms;       /* hb_now_ms() clock; 0: none */
    uint64_t in[HB_SYNC_MAX_ARGS]; /* values; string arguments point into texts */
    char16_t *texts[HB_SYNC_MAX_ARGS]; /* owned copies of the string arguments */
    hb_sync_value out[HB_SYNC_MAX_OUTS]; /* results until taken; guarded once DONE */
    int32_t nouts;
    int32_t hresult;
    int32_t state;              /* guarded */
    int32_t released;           /* guarded */
};

typedef char hb_check_outs[sizeof(((hb_sync_result *)0)->outs) ==
                                   HB_SYNC_MAX_OUTS * sizeof(hb_sync_value)
                               ? 1
                               : -1];

static struct {
    hb_mutex lock;
    hb_cond wake;               /* a call was queued */
    hb_sync_call *head, *tail;  /* guarded */
    hb_sync_stats stats;        /* guarded */
} g_pool;
static hb_once g_pool_once;

static void hb_pool_init(void) {
    hb_mutex_init(&g_pool.lock);
    hb_cond_init(&g_pool.wake);
}

static void hb_pool_ensure_init(void) { hb_call_once(&g_pool_once, hb_pool_init); }

/* ---- results ---- */

/* Release what a finished call returned that nobody took. Called without
 * the lock, by the one party that frees the call. */
static void hb_sync_dispose(hb_sync_call *c) {
    const hb_sync_export *desc = &hb_sync_exports[c->export_index];
    const hb_computecore *api = hb_library_api(c->lib);
    uint64_t handles = 0, texts = 0;
    for (int32_t k = 0; k < c->nouts; k++) {
        hb_sync_value *v = &c->out[k];
        if (v->text != NULL) {
            hb_free(v->text);
            texts++;
        }
        if (v->handle != NULL && desc->closers[k] != NULL && api != NULL) {
            desc->closers[k](api, v->handle);
            handles++;
        }
        if (desc->outs[k] == 'P') {
            hb_close_std_handle(v->info.StdInput);
            hb_close_std_handle(v->info.StdOutput);
            hb_close_std_handle(v->info.StdError);
        }
        memset(v, 0, sizeof *v);
    }
    hb_mutex_lock(&g_pool.lock);
    g_pool.stats.handles_closed += handles;
    g_pool.stats.texts_freed += texts;
    hb_mutex_unlock(&g_pool.lock);
}

static int hb_sync_has_results(const hb_sync_call *c) {
    for (int32_t k = 0; k < c->nouts; k++) {
        const hb_sync_value *v = &c->out[k];
        if (v->text != NULL || v->handle != NULL || v->info.StdInput != NULL ||
            v->info.StdOutput != NULL || v->info.StdError != NULL) {
            return 1;
        }
    }
    return 0;
}

static void hb_sync_free(hb_sync_call *c) {
    for (int32_t i = 0; i < HB_SYNC_MAX_ARGS; i++) {
        free(c->texts[i]);
    }
    free(c);
    hb_mutex_lock(&g_pool.lock);
    g_pool.stats.outstanding--;
    hb_mutex_unlock(&g_pool.lock);
}

/* ---- the call itself (on a worker, no lock held) ---- */

static void hb_sync_run(hb_sync_call *c) {
    const hb_computecore *api = hb_library_api(c->lib);
    const hb_sync_export *desc = &hb_sync_exports[c->export_index];
    hb_sync_raw raw[HB_SYNC_MAX_OUTS];
    memset(raw, 0, sizeof raw);
    HRESULT hr;
    uint64_t now = hb_now_ms();
    if (api == NULL) {
        hr = E_HANDLE_HR;
    } else if (c->deadline_ms != 0 && now >= c->deadline_ms) {
        /* Its caller has given up by now: a late call would only do work
         * (perhaps open a handle) for nobody. */
        hr = HCS_E_OPERATION_TIMEOUT_HR;
    } else {
        uint32_t left = c->deadline_ms != 0 ? (uint32_t)(c->deadline_ms - now) : HB_SYNC_NO_TIMEOUT;
        hb_library_set_call_timeout(c->lib, left);
        hr = desc->thunk(api, c->in, raw);
        hb_library_set_call_timeout(c->lib, HB_SYNC_NO_TIMEOUT);
    }
    for (int32_t k = 0; k < c->nouts; k++) {
        hb_sync_value *v = &c->out[k];
        v->handle = raw[k].handle;
        v->info = raw[k].info;
        if (raw[k].text != NULL) {
            /* Converted here, off the loop; the library's string goes back
             * to its own allocator at once. */
            v->text = hb_utf16_to_utf8(raw[k].text, &v->text_len);
            if (v->text == NULL && hr >= 0) {
                hr = E_OUTOFMEMORY_HR;
            }
            hb_library_free_string(c->lib, raw[k].text);
        }
    }
    c->hresult = hr;
}

static void hb_worker_main(void *arg) {
    (void)arg;
    for (;;) {
        hb_mutex_lock(&g_pool.lock);
        while (g_pool.head == NULL) {
            hb_cond_wait(&g_pool.wake, &g_pool.lock);
        }
        hb_sync_call *c = g_pool.head;
        g_pool.head = c->next;
        if (g_pool.head == NULL) {
            g_pool.tail = NULL;
        }
        g_pool.stats.queued--;
        if (c->released) {
            g_pool.stats.skipped++;
            hb_mutex_unlock(&g_pool.lock);
            hb_sync_free(c);
            continue;
        }
        c->state = HB_CALL_RUNNING;
        if (++g_pool.stats.busy > g_pool.stats.busy_high_water) {
            g_pool.stats.busy_high_water = g_pool.stats.busy;
        }
        hb_mutex_unlock(&g_pool.lock);

        hb_sync_run(c);

        hb_mutex_lock(&g_pool.lock);
        g_pool.stats.busy--;
        g_pool.stats.completed++;
        c->state = HB_CALL_DONE;
        int orphan = c->released;
        /* Copied under the lock: once it is dropped, the caller may free c. */
        uint64_t token = c->token;
        int32_t hr = c->hresult;
        if (orphan && hb_sync_has_results(c)) {
            g_pool.stats.disposed++;
        }
        hb_mutex_unlock(&g_pool.lock);
        if (orphan) {
            hb_sync_dispose(c);
            hb_sync_free(c);
        } else {
            hb_dispatcher_push_completion(token, hr);
        }
    }
}

/* ---- Python's side ---- */

int32_t hb_sync_start(int32_t workers) {
    hb_pool_ensure_init();
    if (workers < 1) {
        workers = 1;
    } else if (workers > HB_SYNC_MAX_WORKERS) {
        workers = HB_SYNC_MAX_WORKERS;
    }
    hb_mutex_lock(&g_pool.lock);
    if (g_pool.stats.workers == 0) {
        for (int32_t i = 0; i < workers; i++) {
            if (hb_thread_start(hb_worker_main, NULL) != 0) {
                break;
            }
            g_pool.stats.workers++;
        }
    }
    int32_t size = (int32_t)g_pool.stats.workers;
    hb_mutex_unlock(&g_pool.lock);
    return size > 0 ? size : -1;
}

int32_t hb_sync_describe(int32_t export_index, const char **ins, const char **outs,
                         const char **out_types) {
    if (export_index < 0 || export_index >= hb_export_count()) {
        return E_INVALIDARG_HR;
    }
    const hb_sync_export *desc = &hb_sync_exports[export_index];
    *ins = desc->ins;
    *outs = desc->outs;
    *out_types = desc->out_types;
    return desc->thunk != NULL;
}

static char16_t *hb_dup16(const char16_t *s) {
    size_t n = 0;
    while (s[n] != 0) {
        n++;
    }
    char16_t *copy = (char16_t *)malloc((n + 1) * sizeof *copy);
    if (copy != NULL) {
        memcpy(copy, s, (n + 1) * sizeof *copy);
    }
    return copy;
}

int32_t hb_sync_submit(int32_t lib, int32_t export_index, uint64_t token, const hb_sync_arg *args,
                       int32_t nargs, uint32_t timeout_ms, hb_sync_call **call) {
    *call = NULL;
    if (export_index < 0 || export_index >= hb_export_count()) {
        return E_INVALIDARG_HR;
    }
    const hb_sync_export *desc = &hb_sync_exports[export_index];
    if (desc->thunk == NULL || nargs < 0 || (size_t)nargs != strlen(desc->ins) ||
        (nargs > 0 && args == NULL)) {
        return E_INVALIDARG_HR;
    }
    int32_t present = hb_library_has_export(lib, export_index);
    if (present != 1) {
        return present < 0 ? present : E_PROC_NOT_FOUND_HR;
    }
    if (hb_sync_start(HB_SYNC_DEFAULT_WORKERS) < 0) {
        return E_OUTOFMEMORY_HR;
    }
    hb_sync_call *c = (hb_sync_call *)calloc(1, sizeof *c);
    if (c == NULL) {
        return E_OUTOFMEMORY_HR;
    }
    c->lib = lib;
    c->export_index = export_index;
    c->token = token;
    c->nouts = (int32_t)strlen(desc->outs);
    if (timeout_ms != HB_SYNC_NO_TIMEOUT) {
        c->deadline_ms = hb_now_ms() + timeout_ms;
        if (c->deadline_ms == 0) {
            c->deadline_ms = 1;
        }
    }
    for (int32_t i = 0; i < nargs; i++) {
        if (desc->ins[i] == 's' && args[i].text != NULL) {
            /* The caller's string lives only for this call of submit. */
            c->texts[i] = hb_dup16(args[i].text);
            if (c->texts[i] == NULL) {
                for (int32_t j = 0; j < i; j++) {
                    free(c->texts[j]);
                }
                free(c);
                return E_OUTOFMEMORY_HR;
            }
            c->in[i] = (uint64_t)(uintptr_t)c->texts[i];
        } else if (desc->ins[i] == 's') {
            c->in[i] = 0;
        } else {
            c->in[i] = args[i].value;
        }
    }
    hb_mutex_lock(&g_pool.lock);
    if (g_pool.tail != NULL) {
        g_pool.tail->next = c;
    } else {
        g_pool.head = c;
    }
    g_pool.tail = c;
    g_pool.stats.queued++;
    g_pool.stats.submitted++;
    g_pool.stats.outstanding++;
    hb_cond_signal(&g_pool.wake);
    hb_mutex_unlock(&g_pool.lock);
    *call = c;
    return S_OK_HR;
}

int32_t hb_sync_take(hb_sync_call *c, hb_sync_result *out) {
    memset(out, 0, sizeof *out);
    hb_mutex_lock(&g_pool.lock);
    int done = c->state == HB_CALL_DONE;
    if (done) {
        out->hresult = c->hresult;
        out->count = c->nouts;
        memcpy(out->outs, c->out, sizeof c->out);
        memset(c->out, 0, sizeof c->out); /* the taker owns them now */
    }
    hb_mutex_unlock(&g_pool.lock);
    return done ? 0 : -1;
}

void hb_sync_release(hb_sync_call *c) {
    if (c == NULL) {
        return;
    }
    hb_mutex_lock(&g_pool.lock);
    c->released = 1;
    int finished = c->state == HB_CALL_DONE;
    int leftover = finished && hb_sync_has_results(c);
    if (leftover) {
        g_pool.stats.disposed++; /* finished, its completion not consumed */
    }
    hb_mutex_unlock(&g_pool.lock);
    if (finished) {
        hb_sync_dispose(c);
        hb_sync_free(c);
    }
    /* Otherwise its worker frees it: still queued (never made) or running. */
}

void hb_sync_stats_get(hb_sync_stats *out) {
    hb_pool_ensure_init();
    hb_mutex_lock(&g_pool.lock);
    *out = g_pool.stats;
    hb_mutex_unlock(&g_pool.lock);
}
