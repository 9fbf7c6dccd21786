/*
 * calls.c - the shapes shared by the exports: starting an operation,
 * failing one synchronously, and the handle calls (close, callbacks,
 * SYSTEM_OP/PROCESS_OP, wait for exit).
 *
 * Synchronous failures: once the operation value is valid, a call that
 * fails before anything reaches the service (bad handle, bad argument,
 * disconnected) returns the failure, records it in the operation (so
 * HcsGetOperationResult returns it with a ResultError, as hcsshim expects)
 * and fires no completion callback. An invalid operation value gets
 * E_HANDLE and nothing is recorded anywhere.
 */
#include "hcsemu.h"

#include <stdlib.h>
#include <string.h>

HRESULT hx_op_begin(HCS_OPERATION operation, int32_t type, hx_handle *target, hx_op **out) {
    *out = NULL;
    hx_lock();
    hx_op *op = (hx_op *)hx_lookup(operation, HX_OPERATION);
    if (op == NULL) {
        hx_unlock();
        return E_HANDLE_HR;
    }
    if (op->state != HX_OP_IDLE) {
        hx_unref(&op->base);
        hx_unlock();
        return HCS_E_OPERATION_ALREADY_STARTED_HR;
    }
    op->state = HX_OP_PENDING;
    op->type = type;
    int conflict = 0;
    if (target != NULL) {
        op->target = target;
        hx_ref(&target->base);
        if (target->callback != NULL &&
            (target->callback_options & HcsEventOptionEnableOperationCallbacks)) {
            /* The handle takes completions as events: an op with its own
             * completion callback is refused (reference 4.1). */
            conflict = op->completion != NULL || op->notify != NULL;
            op->as_event = 1;
        }
    }
    hx_unlock();
    *out = op;
    if (conflict) {
        return hx_op_fail(op, HCS_E_OPERATION_SYSTEM_CALLBACK_ALREADY_SET_HR,
                          "The handle delivers operation completions through its event "
                          "callback; this operation has its own completion callback.");
    }
    return S_OK_HR;
}

HRESULT hx_op_fail(hx_op *op, HRESULT hr, const char *message) {
    char16_t *doc = hx_result_error(hr, message);
    hx_lock();
    op->result = hr;
    free(op->doc);
    op->doc = doc;
    op->state = HX_OP_DONE;
    pthread_cond_broadcast(&op->done);
    hx_unref(&op->base);
    hx_unlock();
    return hr;
}

HRESULT hx_op_begin_on(const void *value, hx_kind kind, HCS_OPERATION operation, int32_t type,
                       hx_handle **handle, hx_op **op) {
    hx_handle *h = NULL;
    hx_handle_get(value, kind, &h);
    HRESULT hr = hx_op_begin(operation, type, h, op);
    if (hr < 0 || h == NULL) {
        hx_handle_release(h);
        return hr < 0 ? hr : hx_op_fail(*op, E_HANDLE_HR, "The handle is invalid or closed.");
    }
    *handle = h;
    return S_OK_HR;
}

int hx_handle_publish(hx_handle *h) {
    if (hx_register(&h->base) != 0) {
        return -1;
    }
    if (hx_table_put(&h->conn->handles, &h->conn_node, h->wire_id) != 0) {
        hx_unregister(&h->base);
        return -1;
    }
    return 0;
}

void hx_handle_unpublish(hx_handle *h) {
    hx_table_remove(&h->conn->handles, &h->conn_node); /* no more events reach it */
    hx_unregister(&h->base);                           /* no more calls find it */
}

HRESULT hx_create_start(hx_handle *h, hx_op *op, hx_frame *f, char **keep, int bad,
                        const char *failure) {
    hx_lock();
    int stored = !bad && hx_handle_publish(h) == 0;
    op->route = h; /* the new handle's callbacks and its creation share a worker */
    hx_ref(&h->base);
    hx_unlock();
    HRESULT hr = stored ? hx_request_start(h->conn, op, f)
                 : bad  ? E_INVALIDARG_HR
                        : E_OUTOFMEMORY_HR;
    hx_frame_free_fields(keep);
    hx_lock();
    if (hr < 0) {
        hx_handle_unpublish(h);
    }
    hx_unref(&h->base); /* success: the registry's reference is the caller's now */
    hx_unlock();
    if (hr < 0) {
        return hx_op_fail(op, hr, failure);
    }
    hx_op_release(op);
    return S_OK_HR;
}

HRESULT hx_handle_get(const void *value, hx_kind kind, hx_handle **out) {
    hx_lock();
    *out = (hx_handle *)hx_lookup(value, kind);
    hx_unlock();
    return *out != NULL ? S_OK_HR : E_HANDLE_HR;
}

void hx_handle_release(hx_handle *h) {
    if (h != NULL) {
        hx_lock();
        hx_unref(&h->base);
        hx_unlock();
    }
}

void hx_handle_close(const void *value, hx_kind kind) {
    hx_lock();
    hx_handle *h = (hx_handle *)hx_lookup(value, kind);
    if (h == NULL) {
        hx_unlock();
        return;
    }
    hx_handle_unpublish(h);
    h->closed = 1; /* queued events for it are dropped from now on */
    /* Wait for a callback of this handle that is running right now, unless
     * it is the caller itself (HCS forbids closing a handle from its own
     * callback; here it merely does not wait for itself). */
    int self = hx_current_callback_handle() == h;
    while (h->running > self) {
        pthread_cond_wait(&h->drained, &hx_mutex);
    }
    hx_conn *conn = h->conn;
    conn->refs++;
    hx_frame f;
    memset(&f, 0, sizeof f);
    f.kind = HX_K_CLOSE_HANDLE;
    f.object = h->wire_id;
    hx_unref(&h->base);
    hx_unlock();
    hx_conn_notify(conn, &f);
    hx_lock();
    hx_conn_unref(conn);
    hx_unlock();
}

HRESULT hx_handle_set_callback(const void *value, hx_kind kind, HCS_EVENT_OPTIONS options,
                               const void *context, HCS_EVENT_CALLBACK callback) {
    const HCS_EVENT_OPTIONS known = HcsEventOptionEnableOperationCallbacks |
                                    HcsEventOptionEnableVmLifecycle |
                                    HcsEventOptionEnableLiveMigrationEvents;
    if (callback == NULL || (options & ~known) != 0) {
        return E_INVALIDARG_HR;
    }
    hx_lock();
    hx_handle *h = (hx_handle *)hx_lookup(value, kind);
    HRESULT hr = S_OK_HR;
    if (h == NULL) {
        hr = E_HANDLE_HR;
    } else if (h->callback != NULL) {
        hr = HCS_E_OPERATION_SYSTEM_CALLBACK_ALREADY_SET_HR;
    } else {
        h->callback = callback;
        h->callback_context = (void *)context;
        h->callback_options = options;
        if (h->exit_unheard != 0) {
            /* The exit came before the callback: deliver it now (on the
             * handle's worker, as any event), or it would be lost. */
            char16_t *data = hx_dup16(h->exit_doc);
            if (data != NULL) {
                hx_deliver_event(h, h->exit_unheard, data);
            }
            h->exit_unheard = 0;
        }
    }
    if (h != NULL) {
        hx_unref(&h->base);
    }
    hx_unlock();
    return hr;
}

/* Is the handle's connection gone? */
static int handle_disconnected(hx_handle *h) {
    hx_lock();
    int dead = h->conn->dead;
    hx_unlock();
    return dead;
}

HRESULT hx_handle_call(const void *value, hx_kind kind, HCS_OPERATION operation, int32_t type,
                       PCWSTR options) {
    hx_handle *h;
    hx_op *op;
    HRESULT hr = hx_op_begin_on(value, kind, operation, type, &h, &op);
    if (hr < 0) {
        return hr;
    }
    hx_lock();
    op->route = h; /* the handle's reference moves to the op */
    hx_unlock();
    if (handle_disconnected(h)) {
        return hx_op_fail(op, HCS_E_SERVICE_DISCONNECT_HR, HX_DISCONNECTED);
    }
    hx_frame f;
    memset(&f, 0, sizeof f);
    char *keep[HX_MAX_FIELDS] = {0};
    f.kind = kind == HX_SYSTEM ? HX_K_SYSTEM_OP : HX_K_PROCESS_OP;
    f.object = h->wire_id;
    f.code = type;
    if (hx_frame_set_field16(&f, 0, options, keep) != 0) {
        return hx_op_fail(op, E_INVALIDARG_HR, "The options document is too large.");
    }
    hr = hx_request_start(h->conn, op, &f);
    hx_frame_free_fields(keep);
    if (hr < 0) {
        return hx_op_fail(op, hr, "The request could not be sent to the HCS emulator service.");
    }
    hx_op_release(op);
    return S_OK_HR;
}

HRESULT hx_handle_wait_exit(const void *value, hx_kind kind, DWORD timeout_ms, PWSTR *result) {
    if (result != NULL) {
        *result = NULL;
    }
    hx_handle *h;
    if (hx_handle_get(value, kind, &h) < 0) {
        return E_HANDLE_HR;
    }
    /* An exit already reported by an event needs no round trip, so even a
     * zero timeout sees it. */
    hx_lock();
    int seen = h->exit_doc != NULL;
    char16_t *known = seen && result != NULL ? hx_dup16(h->exit_doc) : NULL;
    hx_unlock();
    if (seen) {
        hx_handle_release(h);
        if (result != NULL) {
            *result = known;
            return known != NULL ? S_OK_HR : E_OUTOFMEMORY_HR;
        }
        return S_OK_HR;
    }
    hx_frame f;
    memset(&f, 0, sizeof f);
    f.kind = HX_K_WAIT_EXIT;
    f.object = h->wire_id;
    HRESULT hr = hx_call_sync(h->conn, &f, timeout_ms, result);
    hx_handle_release(h);
    return hr;
}
