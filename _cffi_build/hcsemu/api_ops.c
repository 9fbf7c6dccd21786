/*
 * api_ops.c - computecore operations (reference 3.1).
 *
 * Emulator rules beyond the reference (PROTOCOL.md documents them):
 *   - HcsCancelOperation works: S_OK on a pending op, which then completes
 *     with HRESULT_FROM_WIN32(ERROR_CANCELLED) once the service stops
 *     waiting; S_OK and no effect on a finished op; HCS_E_OPERATION_NOT_STARTED
 *     on an op never used (real HCS documents E_NOTIMPL);
 *   - the stdio handles of a CreateProcess result are handed out once: the
 *     first ...AndProcessInfo call owns them, later calls see NULL;
 *   - HcsSetOperationCallback is accepted only before the op is started.
 */
#include "hcsemu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static hx_op *op_get(HCS_OPERATION operation) {
    hx_lock();
    hx_op *op = (hx_op *)hx_lookup(operation, HX_OPERATION);
    hx_unlock();
    return op;
}

static HCS_OPERATION create(const void *context, HCS_OPERATION_COMPLETION completion,
                            HCS_EVENT_CALLBACK notify) {
    hx_op *op = hx_op_new();
    if (op == NULL) {
        return NULL;
    }
    op->context = (void *)context;
    op->completion = completion;
    op->notify = notify;
    hx_lock();
    int failed = hx_register(&op->base) != 0;
    hx_unref(&op->base); /* the registry's reference is the caller's now */
    hx_unlock();
    return failed ? NULL : (HCS_OPERATION)op;
}

HCS_OPERATION HcsCreateOperation(const void *context, HCS_OPERATION_COMPLETION callback) {
    return create(context, callback, NULL);
}

HCS_OPERATION HcsCreateOperationWithNotifications(HCS_OPERATION_OPTIONS eventTypes,
                                                  const void *context,
                                                  HCS_EVENT_CALLBACK callback) {
    const HCS_OPERATION_OPTIONS known = HcsOperationOptionProgressUpdate |
                                        HcsOperationOptionReserved1;
    if (callback == NULL || (eventTypes & ~known) != 0) {
        return NULL;
    }
    /* The emulator's operations report no progress: the callback hears of
     * the completion (HcsEventOperationCallback) only. */
    return create(context, NULL, callback);
}

void HcsCloseOperation(HCS_OPERATION operation) {
    hx_lock();
    hx_op *op = (hx_op *)hx_lookup(operation, HX_OPERATION);
    if (op != NULL) {
        op->closed = 1; /* a running request finishes; its result is discarded */
        hx_unregister(&op->base);
        hx_unref(&op->base);
    }
    hx_unlock();
}

void *HcsGetOperationContext(HCS_OPERATION operation) {
    hx_op *op = op_get(operation);
    if (op == NULL) {
        return NULL;
    }
    hx_lock();
    void *context = op->context;
    hx_unref(&op->base);
    hx_unlock();
    return context;
}

HRESULT HcsSetOperationContext(HCS_OPERATION operation, const void *context) {
    hx_op *op = op_get(operation);
    if (op == NULL) {
        return E_HANDLE_HR;
    }
    hx_lock();
    op->context = (void *)context;
    hx_unref(&op->base);
    hx_unlock();
    return S_OK_HR;
}

/* The system or process handle an op was issued on, if still open. */
static void *op_handle(HCS_OPERATION operation, hx_kind kind) {
    hx_op *op = op_get(operation);
    if (op == NULL) {
        return NULL;
    }
    hx_lock();
    hx_handle *found = NULL;
    hx_handle *candidates[3] = {op->target, op->route, op->target ? op->target->system : NULL};
    for (int i = 0; i < 3 && found == NULL; i++) {
        hx_handle *h = candidates[i];
        if (h != NULL && h->base.kind == kind && h->base.registered) {
            found = h;
        }
    }
    hx_unref(&op->base);
    hx_unlock();
    return found;
}

HCS_SYSTEM HcsGetComputeSystemFromOperation(HCS_OPERATION operation) {
    return (HCS_SYSTEM)op_handle(operation, HX_SYSTEM);
}

HCS_PROCESS HcsGetProcessFromOperation(HCS_OPERATION operation) {
    return (HCS_PROCESS)op_handle(operation, HX_PROCESS);
}

HCS_OPERATION_TYPE HcsGetOperationType(HCS_OPERATION operation) {
    hx_op *op = op_get(operation);
    if (op == NULL) {
        return HcsOperationTypeNone;
    }
    hx_lock();
    HCS_OPERATION_TYPE type = op->type;
    hx_unref(&op->base);
    hx_unlock();
    return type;
}

UINT64 HcsGetOperationId(HCS_OPERATION operation) {
    hx_op *op = op_get(operation);
    if (op == NULL) {
        return HCS_INVALID_OPERATION_ID;
    }
    UINT64 id = op->id;
    hx_op_release(op);
    return id;
}

/* Does this op carry HCS_PROCESS_INFORMATION? CreateProcess and every
 * operation on a process handle do; the rest are E_INVALIDARG. */
static int has_process_info(const hx_op *op) {
    return op->type == HcsOperationTypeCreateProcess ||
           (op->target != NULL && op->target->base.kind == HX_PROCESS);
}

/* The result of a finished op (hx_mutex held). */
static HRESULT result_locked(hx_op *op, HCS_PROCESS_INFORMATION *info, int want_info,
                             char16_t **doc_copy) {
    *doc_copy = NULL;
    if (op->state == HX_OP_IDLE) {
        return HCS_E_OPERATION_NOT_STARTED_HR;
    }
    if (op->state == HX_OP_PENDING) {
        return HCS_E_OPERATION_PENDING_HR;
    }
    if (want_info && !has_process_info(op)) {
        return E_INVALIDARG_HR;
    }
    if (info != NULL) {
        memset(info, 0, sizeof *info);
        if (op->result >= 0) {
            hx_handle *process = op->type == HcsOperationTypeCreateProcess ? op->route : op->target;
            info->ProcessId = op->pid != 0 ? op->pid : (process != NULL ? process->pid : 0);
            HANDLE *slots[3] = {&info->StdInput, &info->StdOutput, &info->StdError};
            for (int i = 0; i < 3; i++) {
                if (op->type != HcsOperationTypeCreateProcess) {
                    *slots[i] = HX_INVALID_HANDLE_VALUE; /* no pipes to hand out */
                } else if (op->fds[i] >= 0) {
                    *slots[i] = (HANDLE)(intptr_t)op->fds[i]; /* the caller owns it now */
                    op->fds[i] = -1;
                }
            }
        }
    }
    if (op->doc != NULL) {
        *doc_copy = hx_dup16(op->doc);
        if (*doc_copy == NULL) {
            return HCS_E_OPERATION_RESULT_ALLOCATION_FAILED_HR;
        }
    }
    return op->result;
}

static HRESULT get_result(HCS_OPERATION operation, DWORD timeout_ms, int wait, int want_info,
                          HCS_PROCESS_INFORMATION *info, PWSTR *resultDocument) {
    if (resultDocument != NULL) {
        *resultDocument = NULL;
    }
    hx_op *op = op_get(operation);
    if (op == NULL) {
        return E_HANDLE_HR;
    }
    hx_lock();
    if (wait && op->state == HX_OP_PENDING &&
        hx_cond_wait_ms(&op->done, &op->state, HX_OP_DONE, timeout_ms) != 0) {
        hx_unref(&op->base);
        hx_unlock();
        return HCS_E_OPERATION_TIMEOUT_HR; /* it keeps running */
    }
    char16_t *doc;
    HRESULT hr = result_locked(op, info, want_info, &doc);
    hx_unref(&op->base);
    hx_unlock();
    if (resultDocument != NULL) {
        *resultDocument = doc;
    } else {
        free(doc);
    }
    return hr;
}

HRESULT HcsGetOperationResult(HCS_OPERATION operation, PWSTR *resultDocument) {
    return get_result(operation, 0, 0, 0, NULL, resultDocument);
}

HRESULT HcsGetOperationResultAndProcessInfo(HCS_OPERATION operation,
                                            HCS_PROCESS_INFORMATION *processInformation,
                                            PWSTR *resultDocument) {
    return get_result(operation, 0, 0, 1, processInformation, resultDocument);
}

HRESULT HcsWaitForOperationResult(HCS_OPERATION operation, DWORD timeoutMs,
                                  PWSTR *resultDocument) {
    return get_result(operation, timeoutMs, 1, 0, NULL, resultDocument);
}

HRESULT HcsWaitForOperationResultAndProcessInfo(HCS_OPERATION operation, DWORD timeoutMs,
                                                HCS_PROCESS_INFORMATION *processInformation,
                                                PWSTR *resultDocument) {
    return get_result(operation, timeoutMs, 1, 1, processInformation, resultDocument);
}

HRESULT HcsSetOperationCallback(HCS_OPERATION operation, const void *context,
                                HCS_OPERATION_COMPLETION callback) {
    hx_op *op = op_get(operation);
    if (op == NULL) {
        return E_HANDLE_HR;
    }
    hx_lock();
    HRESULT hr = S_OK_HR;
    if (op->state != HX_OP_IDLE) {
        hr = HCS_E_OPERATION_ALREADY_STARTED_HR;
    } else {
        op->context = (void *)context;
        op->completion = callback;
    }
    hx_unref(&op->base);
    hx_unlock();
    return hr;
}

HRESULT HcsCancelOperation(HCS_OPERATION operation) {
    hx_op *op = op_get(operation);
    if (op == NULL) {
        return E_HANDLE_HR;
    }
    hx_lock();
    int state = op->state;
    hx_unlock();
    HRESULT hr = state == HX_OP_IDLE ? HCS_E_OPERATION_NOT_STARTED_HR : hx_request_cancel(op);
    hx_op_release(op);
    return hr;
}

HRESULT HcsGetOperationProperties(HCS_OPERATION operation, PCWSTR options, PWSTR *resultDocument) {
    (void)options; /* the options' shape is undocumented; none are defined here */
    if (resultDocument == NULL) {
        return E_POINTER_HR;
    }
    *resultDocument = NULL;
    hx_op *op = op_get(operation);
    if (op == NULL) {
        return E_HANDLE_HR;
    }
    static const char *const states[] = {"NotStarted", "Pending", "Completed"};
    char buf[256];
    hx_lock();
    int n = snprintf(buf, sizeof buf,
                     "{\"OperationId\":%llu,\"OperationType\":%d,\"State\":\"%s\",\"Result\":%d}",
                     (unsigned long long)op->id, (int)op->type, states[op->state],
                     op->state == HX_OP_DONE ? (int)op->result : 0);
    hx_unref(&op->base);
    hx_unlock();
    *resultDocument = hx_utf8_to_utf16(buf, (size_t)n);
    return *resultDocument != NULL ? S_OK_HR : E_OUTOFMEMORY_HR;
}

HRESULT HcsAddResourceToOperation(HCS_OPERATION operation, HCS_RESOURCE_TYPE type, PCWSTR uri,
                                  HANDLE handle) {
    (void)handle;
    hx_op *op = op_get(operation);
    if (op == NULL) {
        return E_HANDLE_HR;
    }
    hx_op_release(op);
    if (type < HcsResourceTypeNone || type > HcsResourceTypeSocket || uri == NULL) {
        return E_INVALIDARG_HR;
    }
    /* Passing Windows resources (files, jobs, sockets) into a VM worker has
     * no meaning for the emulator's containers. */
    return E_NOTIMPL_HR;
}

HRESULT HcsGetProcessorCompatibilityFromSavedState(PCWSTR RuntimeFileName,
                                                   PCWSTR *ProcessorFeaturesString) {
    if (ProcessorFeaturesString != NULL) {
        *ProcessorFeaturesString = NULL;
    }
    return RuntimeFileName == NULL ? E_INVALIDARG_HR : HCS_E_HYPERV_NOT_INSTALLED_HR;
}
