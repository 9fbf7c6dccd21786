/*
 * pool.c - the callback workers: the only threads that run user callbacks.
 *
 * A fixed number of workers (HCSAIO_EMULATOR_CALLBACK_THREADS, default 4),
 * each with its own FIFO. Work is routed by a key (a handle's wire id, or
 * an operation id for operations not tied to a handle), so everything for
 * one handle runs on one worker, in the order the reader queued it: a
 * handle never sees ProcessExited before an event that preceded it.
 *
 * Callbacks run without hx_mutex. Event callbacks are counted on their
 * handle (`running`) so HcsClose* can wait for them; a handle closed before
 * its queued work runs gets none of it.
 */
#include "hcsemu.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define HX_MAX_WORKERS 64
#define HX_DEFAULT_WORKERS 4

typedef struct hx_worker {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    hx_work *head, *tail;
} hx_worker;

static hx_worker g_workers[HX_MAX_WORKERS];
static int g_worker_count;                   /* set once the pool runs */
static pthread_mutex_t g_pool_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread hx_handle *t_callback_handle; /* whose event callback runs here */

hx_handle *hx_current_callback_handle(void) { return t_callback_handle; }

/* Release a work item and its references (hx_mutex held). An embedded
 * item lives inside its op, which the last unref may free: read it first. */
static void drop_work_locked(hx_work *w) {
    hx_op *op = w->op;
    hx_handle *handle = w->handle;
    char16_t *data = w->data;
    if (!w->embedded) {
        free(w);
    }
    free(data);
    if (handle != NULL) {
        hx_unref(&handle->base);
    }
    if (op != NULL) {
        hx_unref(&op->base);
    }
}

static void free_work(hx_work *w) {
    hx_lock();
    drop_work_locked(w);
    hx_unlock();
}

static void run_event(hx_work *w) {
    hx_handle *h = w->handle;
    hx_lock();
    int skip = h->closed || h->callback == NULL || (w->op != NULL && w->op->closed);
    HCS_EVENT_CALLBACK callback = h->callback;
    void *context = h->callback_context;
    if (!skip) {
        h->running++;
    }
    hx_unlock();
    if (skip) {
        return;
    }
    HCS_EVENT event = {w->type, w->data, (HCS_OPERATION)w->op};
    hx_handle *outer = t_callback_handle;
    t_callback_handle = h;
    callback(&event, context);
    t_callback_handle = outer;
    hx_lock();
    if (--h->running == 0) {
        pthread_cond_broadcast(&h->drained);
    }
    hx_unlock();
}

static void run_completion(hx_work *w) {
    hx_op *op = w->op;
    hx_lock();
    int skip = op->closed;
    HCS_OPERATION_COMPLETION completion = op->completion;
    HCS_EVENT_CALLBACK notify = op->notify;
    void *context = op->context;
    hx_unlock();
    if (skip) {
        return; /* closed while it ran: the result is discarded */
    }
    if (w->kind == HX_WORK_COMPLETION && completion != NULL) {
        completion((HCS_OPERATION)op, context);
    } else if (w->kind == HX_WORK_NOTIFY && notify != NULL) {
        HCS_EVENT event = {HcsEventOperationCallback, NULL, (HCS_OPERATION)op};
        notify(&event, context);
    }
}

static void *worker_main(void *arg) {
    hx_worker *worker = (hx_worker *)arg;
    for (;;) {
        pthread_mutex_lock(&worker->lock);
        while (worker->head == NULL) {
            pthread_cond_wait(&worker->wake, &worker->lock);
        }
        hx_work *w = worker->head;
        worker->head = w->next;
        if (worker->head == NULL) {
            worker->tail = NULL;
        }
        pthread_mutex_unlock(&worker->lock);
        if (w->kind == HX_WORK_EVENT) {
            run_event(w);
        } else {
            run_completion(w);
        }
        free_work(w);
    }
    return NULL;
}

static int configured_workers(void) {
    const char *text = getenv("HCSAIO_EMULATOR_CALLBACK_THREADS");
    long n = text != NULL ? strtol(text, NULL, 10) : 0;
    return (n >= 1 && n <= HX_MAX_WORKERS) ? (int)n : HX_DEFAULT_WORKERS;
}

int hx_start_thread(void *(*fn)(void *), void *arg) {
    /* Library threads take no signals: handlers belong to the application. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t thread;
    int rc = pthread_create(&thread, &attr, fn, arg);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

int hx_pool_start(void) {
    pthread_mutex_lock(&g_pool_lock);
    if (__atomic_load_n(&g_worker_count, __ATOMIC_ACQUIRE) > 0) {
        pthread_mutex_unlock(&g_pool_lock);
        return 0;
    }
    int wanted = configured_workers();
    int started = 0;
    for (int i = 0; i < wanted; i++) {
        hx_worker *worker = &g_workers[i];
        pthread_mutex_init(&worker->lock, NULL);
        pthread_cond_init(&worker->wake, NULL);
        worker->head = worker->tail = NULL;
        if (hx_start_thread(worker_main, worker) != 0) {
            break;
        }
        started++;
    }
    __atomic_store_n(&g_worker_count, started, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&g_pool_lock);
    return started > 0 ? 0 : -1;
}

void hx_pool_submit(uint64_t key, hx_work *w) {
    if (__atomic_load_n(&g_worker_count, __ATOMIC_ACQUIRE) == 0 && hx_pool_start() != 0) {
        /* No thread can run it: drop it rather than queue it forever
         * (hx_mutex is held by our caller). */
        drop_work_locked(w);
        return;
    }
    int count = __atomic_load_n(&g_worker_count, __ATOMIC_ACQUIRE);
    hx_worker *worker = &g_workers[key % (uint64_t)count];
    w->next = NULL;
    pthread_mutex_lock(&worker->lock);
    if (worker->tail != NULL) {
        worker->tail->next = w;
    } else {
        worker->head = w;
    }
    worker->tail = w;
    pthread_cond_signal(&worker->wake);
    pthread_mutex_unlock(&worker->lock);
}

/* ---- what completed operations and events owe the caller ---- */

void hx_deliver_completion(hx_op *op) {
    if (op->closed) {
        return;
    }
    hx_work *w = &op->completion_work;
    memset(w, 0, sizeof *w);
    w->embedded = 1;
    uint64_t key = op->route != NULL ? op->route->wire_id : op->id;
    if (op->as_event) {
        hx_handle *h = op->target;
        if (h->closed || h->callback == NULL) {
            return; /* no event follows a close */
        }
        w->kind = HX_WORK_EVENT;
        w->handle = h;
        hx_ref(&h->base);
        w->type = HcsEventOperationCallback;
        key = h->wire_id; /* in order with the handle's other events */
    } else if (op->completion != NULL) {
        w->kind = HX_WORK_COMPLETION;
    } else if (op->notify != NULL) {
        w->kind = HX_WORK_NOTIFY;
    } else {
        return;
    }
    w->op = op;
    hx_ref(&op->base);
    hx_pool_submit(key, w);
}

void hx_deliver_event(hx_handle *h, HCS_EVENT_TYPE type, char16_t *data) {
    if (h->closed || h->callback == NULL) {
        free(data);
        return;
    }
    hx_work *w = (hx_work *)calloc(1, sizeof *w);
    if (w == NULL) {
        free(data);
        return;
    }
    w->kind = HX_WORK_EVENT;
    w->handle = h;
    hx_ref(&h->base);
    w->type = type;
    w->data = data;
    hx_pool_submit(h->wire_id, w);
}

/* ---- fork: the child has no workers; it starts new ones if it needs them ---- */

void hx_pool_fork_prepare(void) {
    pthread_mutex_lock(&g_pool_lock);
    for (int i = 0; i < g_worker_count; i++) {
        pthread_mutex_lock(&g_workers[i].lock);
    }
}

void hx_pool_fork_parent(void) {
    for (int i = 0; i < g_worker_count; i++) {
        pthread_mutex_unlock(&g_workers[i].lock);
    }
    pthread_mutex_unlock(&g_pool_lock);
}

void hx_pool_fork_child(void) {
    /* The queued work belonged to the parent's callbacks: abandon it. */
    for (int i = 0; i < g_worker_count; i++) {
        g_workers[i].head = g_workers[i].tail = NULL;
    }
    g_worker_count = 0;
    t_callback_handle = NULL;
    pthread_mutex_init(&g_pool_lock, NULL);
}
