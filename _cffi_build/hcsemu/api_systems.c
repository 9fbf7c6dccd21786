/*
 * api_systems.c - computecore compute-system calls (reference 3.2).
 *
 * The *InNamespace variants scope ids to a namespace string; the plain
 * calls use the default namespace "". The lifecycle calls share one path
 * (hx_handle_call): the service answers with the operation's result.
 */
#include "hcsemu.h"

#include <string.h>

/* ---- create and open ---- */

static HRESULT create_system(PCWSTR idNamespace, PCWSTR id, PCWSTR configuration,
                             HCS_OPERATION operation, const HCS_CREATE_OPTIONS_1 *options,
                             HCS_SYSTEM *computeSystem) {
    if (computeSystem != NULL) {
        *computeSystem = NULL;
    }
    hx_op *op;
    HRESULT hr = hx_op_begin(operation, HcsOperationTypeCreate, NULL, &op);
    if (hr < 0) {
        return hr;
    }
    if (computeSystem == NULL || id == NULL || configuration == NULL || idNamespace == NULL) {
        return hx_op_fail(op, E_INVALIDARG_HR, "A required argument is NULL.");
    }
    hx_conn *conn;
    hr = hx_conn_acquire(&conn);
    if (hr < 0) {
        return hx_op_fail(op, hr, "The HCS emulator service is not available.");
    }
    hx_handle *h = hx_handle_new(HX_SYSTEM, conn);
    hx_lock();
    hx_conn_unref(conn); /* the handle holds its own reference */
    hx_unlock();
    if (h == NULL) {
        return hx_op_fail(op, E_OUTOFMEMORY_HR, "Out of memory.");
    }
    if (options != NULL && options->Callback != NULL) {
        /* HCS_CREATE_OPTIONS_1: the callback is in place before any event. */
        h->callback = options->Callback;
        h->callback_context = options->CallbackContext;
        h->callback_options = options->CallbackOptions;
    }
    hx_frame f;
    memset(&f, 0, sizeof f);
    char *keep[HX_MAX_FIELDS] = {0};
    f.kind = HX_K_CREATE_SYSTEM;
    f.object = h->wire_id;
    int bad = hx_frame_set_field16(&f, 0, idNamespace, keep) != 0 ||
              hx_frame_set_field16(&f, 1, id, keep) != 0 ||
              hx_frame_set_field16(&f, 2, configuration, keep) != 0;
    hr = hx_create_start(h, op, &f, keep, bad, "The compute system could not be created.");
    if (hr >= 0) {
        *computeSystem = (HCS_SYSTEM)h;
    }
    return hr;
}

HRESULT HcsCreateComputeSystem(PCWSTR id, PCWSTR configuration, HCS_OPERATION operation,
                               const SECURITY_DESCRIPTOR *securityDescriptor,
                               HCS_SYSTEM *computeSystem) {
    if (securityDescriptor != NULL) {
        /* Reserved, must be NULL (reference 3.2). */
        if (computeSystem != NULL) {
            *computeSystem = NULL;
        }
        hx_op *op;
        HRESULT hr = hx_op_begin(operation, HcsOperationTypeCreate, NULL, &op);
        return hr < 0 ? hr
                      : hx_op_fail(op, E_INVALIDARG_HR,
                                   "securityDescriptor is reserved: pass NULL.");
    }
    static const char16_t default_namespace[] = {0};
    return create_system(default_namespace, id, configuration, operation, NULL, computeSystem);
}

HRESULT HcsCreateComputeSystemInNamespace(PCWSTR idNamespace, PCWSTR id, PCWSTR configuration,
                                          HCS_OPERATION operation,
                                          const HCS_CREATE_OPTIONS *options,
                                          HCS_SYSTEM *computeSystem) {
    const HCS_CREATE_OPTIONS_1 *v1 = (const HCS_CREATE_OPTIONS_1 *)options;
    const char *refusal = NULL;
    HRESULT refused = S_OK_HR;
    if (options != NULL && *options != HcsCreateOptions_1) {
        refused = E_INVALIDARG_HR, refusal = "Unknown HCS_CREATE_OPTIONS version.";
    } else if (v1 != NULL && (v1->UserToken != NULL || v1->SecurityDescriptor != NULL)) {
        /* Running a system as another Windows token has no Linux meaning. */
        refused = E_NOTIMPL_HR, refusal = "UserToken and SecurityDescriptor are not supported.";
    }
    if (refused < 0) {
        if (computeSystem != NULL) {
            *computeSystem = NULL;
        }
        hx_op *op;
        HRESULT hr = hx_op_begin(operation, HcsOperationTypeCreate, NULL, &op);
        return hr < 0 ? hr : hx_op_fail(op, refused, refusal);
    }
    return create_system(idNamespace, id, configuration, operation, v1, computeSystem);
}

static HRESULT open_system(PCWSTR idNamespace, PCWSTR id, DWORD requestedAccess,
                           HCS_SYSTEM *computeSystem) {
    if (computeSystem == NULL) {
        return E_INVALIDARG_HR;
    }
    *computeSystem = NULL;
    if (id == NULL || idNamespace == NULL || requestedAccess != HCS_GENERIC_ALL) {
        return E_INVALIDARG_HR;
    }
    /* One deadline for the connect and the request: the caller's (set by
     * the bridge's worker from its timeout) or the bounded default. */
    uint64_t deadline = hx_sync_deadline();
    hx_conn *conn;
    HRESULT hr = hx_conn_acquire_until(&conn, deadline);
    if (hr < 0) {
        return hr;
    }
    hx_handle *h = hx_handle_new(HX_SYSTEM, conn);
    hx_lock();
    hx_conn_unref(conn);
    hx_unlock();
    if (h == NULL) {
        return E_OUTOFMEMORY_HR;
    }
    hx_frame f;
    memset(&f, 0, sizeof f);
    char *keep[HX_MAX_FIELDS] = {0};
    f.kind = HX_K_OPEN_SYSTEM;
    f.object = h->wire_id;
    f.arg = requestedAccess;
    if (hx_frame_set_field16(&f, 0, idNamespace, keep) != 0 ||
        hx_frame_set_field16(&f, 1, id, keep) != 0) {
        hr = E_INVALIDARG_HR;
    } else {
        hr = hx_call_sync(conn, &f, hx_ms_until(deadline), NULL);
    }
    hx_frame_free_fields(keep);
    hx_lock();
    if (hr >= 0 && hx_handle_publish(h) != 0) {
        hr = E_OUTOFMEMORY_HR;
    }
    hx_unref(&h->base); /* the registry's reference, if any, is the caller's */
    hx_unlock();
    if (hr < 0) {
        return hr;
    }
    *computeSystem = (HCS_SYSTEM)h;
    return S_OK_HR;
}

HRESULT HcsOpenComputeSystem(PCWSTR id, DWORD requestedAccess, HCS_SYSTEM *computeSystem) {
    static const char16_t default_namespace[] = {0};
    return open_system(default_namespace, id, requestedAccess, computeSystem);
}

HRESULT HcsOpenComputeSystemInNamespace(PCWSTR idNamespace, PCWSTR id, DWORD requestedAccess,
                                        HCS_SYSTEM *computeSystem) {
    return open_system(idNamespace, id, requestedAccess, computeSystem);
}

void HcsCloseComputeSystem(HCS_SYSTEM computeSystem) { hx_handle_close(computeSystem, HX_SYSTEM); }

/* ---- enumerate ---- */

static HRESULT enumerate(PCWSTR idNamespace, PCWSTR query, HCS_OPERATION operation) {
    hx_op *op;
    HRESULT hr = hx_op_begin(operation, HcsOperationTypeEnumerate, NULL, &op);
    if (hr < 0) {
        return hr;
    }
    if (idNamespace == NULL) {
        return hx_op_fail(op, E_INVALIDARG_HR, "idNamespace is NULL.");
    }
    hx_conn *conn;
    hr = hx_conn_acquire(&conn);
    if (hr < 0) {
        return hx_op_fail(op, hr, "The HCS emulator service is not available.");
    }
    hx_frame f;
    memset(&f, 0, sizeof f);
    char *keep[HX_MAX_FIELDS] = {0};
    f.kind = HX_K_ENUMERATE;
    if (hx_frame_set_field16(&f, 0, idNamespace, keep) != 0 ||
        hx_frame_set_field16(&f, 1, query, keep) != 0) {
        hr = E_INVALIDARG_HR;
    } else {
        hr = hx_request_start(conn, op, &f);
    }
    hx_frame_free_fields(keep);
    hx_lock();
    hx_conn_unref(conn);
    hx_unlock();
    if (hr < 0) {
        return hx_op_fail(op, hr, "The enumeration could not be sent to the service.");
    }
    hx_op_release(op);
    return S_OK_HR;
}

HRESULT HcsEnumerateComputeSystems(PCWSTR query, HCS_OPERATION operation) {
    static const char16_t default_namespace[] = {0};
    return enumerate(default_namespace, query, operation);
}

HRESULT HcsEnumerateComputeSystemsInNamespace(PCWSTR idNamespace, PCWSTR query,
                                              HCS_OPERATION operation) {
    return enumerate(idNamespace, query, operation);
}

/* ---- lifecycle ---- */

HRESULT HcsStartComputeSystem(HCS_SYSTEM computeSystem, HCS_OPERATION operation, PCWSTR options) {
    return hx_handle_call(computeSystem, HX_SYSTEM, operation, HcsOperationTypeStart, options);
}

HRESULT HcsShutDownComputeSystem(HCS_SYSTEM computeSystem, HCS_OPERATION operation,
                                 PCWSTR options) {
    return hx_handle_call(computeSystem, HX_SYSTEM, operation, HcsOperationTypeShutdown, options);
}

HRESULT HcsTerminateComputeSystem(HCS_SYSTEM computeSystem, HCS_OPERATION operation,
                                  PCWSTR options) {
    return hx_handle_call(computeSystem, HX_SYSTEM, operation, HcsOperationTypeTerminate, options);
}

HRESULT HcsCrashComputeSystem(HCS_SYSTEM computeSystem, HCS_OPERATION operation, PCWSTR options) {
    return hx_handle_call(computeSystem, HX_SYSTEM, operation, HcsOperationTypeCrash, options);
}

HRESULT HcsPauseComputeSystem(HCS_SYSTEM computeSystem, HCS_OPERATION operation, PCWSTR options) {
    return hx_handle_call(computeSystem, HX_SYSTEM, operation, HcsOperationTypePause, options);
}

HRESULT HcsResumeComputeSystem(HCS_SYSTEM computeSystem, HCS_OPERATION operation, PCWSTR options) {
    return hx_handle_call(computeSystem, HX_SYSTEM, operation, HcsOperationTypeResume, options);
}

HRESULT HcsSaveComputeSystem(HCS_SYSTEM computeSystem, HCS_OPERATION operation, PCWSTR options) {
    return hx_handle_call(computeSystem, HX_SYSTEM, operation, HcsOperationTypeSave, options);
}

HRESULT HcsGetComputeSystemProperties(HCS_SYSTEM computeSystem, HCS_OPERATION operation,
                                      PCWSTR propertyQuery) {
    return hx_handle_call(computeSystem, HX_SYSTEM, operation, HcsOperationTypeGetProperties,
                          propertyQuery);
}

HRESULT HcsModifyComputeSystem(HCS_SYSTEM computeSystem, HCS_OPERATION operation,
                               PCWSTR configuration, HANDLE identity) {
    if (configuration == NULL || identity != NULL) {
        /* identity: a Windows access token to act as; not supported. */
        hx_op *op;
        HRESULT hr = hx_op_begin(operation, HcsOperationTypeModify, NULL, &op);
        return hr < 0 ? hr
                      : hx_op_fail(op, configuration == NULL ? E_INVALIDARG_HR : E_NOTIMPL_HR,
                                   configuration == NULL ? "configuration is NULL."
                                                         : "identity tokens are not supported.");
    }
    return hx_handle_call(computeSystem, HX_SYSTEM, operation, HcsOperationTypeModify,
                          configuration);
}

HRESULT HcsWaitForComputeSystemExit(HCS_SYSTEM computeSystem, DWORD timeoutMs, PWSTR *result) {
    return hx_handle_wait_exit(computeSystem, HX_SYSTEM, timeoutMs, result);
}

HRESULT HcsSetComputeSystemCallback(HCS_SYSTEM computeSystem, HCS_EVENT_OPTIONS callbackOptions,
                                    const void *context, HCS_EVENT_CALLBACK callback) {
    return hx_handle_set_callback(computeSystem, HX_SYSTEM, callbackOptions, context, callback);
}

/* ---- live migration: the service refuses it for containers ---- */

#define HX_LIVE_MIGRATION(name)                                                                 \
    HRESULT name(HCS_SYSTEM computeSystem, HCS_OPERATION operation, PCWSTR options) {          \
        return hx_handle_call(computeSystem, HX_SYSTEM, operation, HcsOperationTypeLiveMigration, \
                              options);                                                        \
    }
HX_LIVE_MIGRATION(HcsInitializeLiveMigrationOnSource)
HX_LIVE_MIGRATION(HcsStartLiveMigrationOnSource)
HX_LIVE_MIGRATION(HcsStartLiveMigrationTransfer)
HX_LIVE_MIGRATION(HcsFinalizeLiveMigration)
HX_LIVE_MIGRATION(HcsCancelLiveMigration)
