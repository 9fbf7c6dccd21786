/*
 * api_processes.c - computecore process calls (reference 3.3).
 *
 * The stdio pipes of a new process arrive with the CreateProcess reply as
 * fds (SCM_RIGHTS) and are handed out as HANDLE values (fd >= 3) by the
 * first HcsGetOperationResultAndProcessInfo / Wait...AndProcessInfo; the
 * caller owns and closes them. HcsGetProcessInfo (and every other process
 * operation) reports INVALID_HANDLE_VALUE std handles: the service keeps no
 * copy of a pipe it handed out.
 */
#include "hcsemu.h"

#include <string.h>

HRESULT HcsCreateProcess(HCS_SYSTEM computeSystem, PCWSTR processParameters,
                         HCS_OPERATION operation, const SECURITY_DESCRIPTOR *securityDescriptor,
                         HCS_PROCESS *process) {
    if (process != NULL) {
        *process = NULL;
    }
    hx_handle *system;
    hx_op *op;
    HRESULT hr = hx_op_begin_on(computeSystem, HX_SYSTEM, operation,
                                HcsOperationTypeCreateProcess, &system, &op);
    if (hr < 0) {
        return hr;
    }
    if (processParameters == NULL || process == NULL || securityDescriptor != NULL) {
        hx_handle_release(system);
        return hx_op_fail(op, E_INVALIDARG_HR,
                          "processParameters and process are required; securityDescriptor "
                          "is reserved.");
    }
    hx_lock();
    int dead = system->conn->dead;
    hx_unlock();
    hx_handle *h = dead ? NULL : hx_handle_new(HX_PROCESS, system->conn);
    if (h == NULL) {
        hx_handle_release(system);
        return hx_op_fail(op, dead ? HCS_E_SERVICE_DISCONNECT_HR : E_OUTOFMEMORY_HR,
                          dead ? HX_DISCONNECTED : "Out of memory.");
    }
    h->system = system; /* our reference moves to the process handle */
    hx_frame f;
    memset(&f, 0, sizeof f);
    char *keep[HX_MAX_FIELDS] = {0};
    f.kind = HX_K_CREATE_PROCESS;
    f.object = system->wire_id;
    f.object2 = h->wire_id;
    int bad = hx_frame_set_field16(&f, 0, processParameters, keep) != 0;
    hr = hx_create_start(h, op, &f, keep, bad, "The process could not be created.");
    if (hr >= 0) {
        *process = (HCS_PROCESS)h;
    }
    return hr;
}

HRESULT HcsOpenProcess(HCS_SYSTEM computeSystem, DWORD processId, DWORD requestedAccess,
                       HCS_PROCESS *process) {
    if (process == NULL) {
        return E_INVALIDARG_HR;
    }
    *process = NULL;
    if (requestedAccess != HCS_GENERIC_ALL) {
        return E_INVALIDARG_HR;
    }
    hx_handle *system;
    if (hx_handle_get(computeSystem, HX_SYSTEM, &system) < 0) {
        return E_HANDLE_HR;
    }
    hx_handle *h = hx_handle_new(HX_PROCESS, system->conn);
    if (h == NULL) {
        hx_handle_release(system);
        return E_OUTOFMEMORY_HR;
    }
    h->system = system;
    h->pid = processId;
    hx_frame f;
    memset(&f, 0, sizeof f);
    f.kind = HX_K_OPEN_PROCESS;
    f.object = system->wire_id;
    f.object2 = h->wire_id;
    f.arg = processId;
    f.code = (int32_t)requestedAccess;
    HRESULT hr = hx_call_sync(h->conn, &f, hx_ms_until(hx_sync_deadline()), NULL);
    hx_lock();
    if (hr >= 0 && hx_handle_publish(h) != 0) {
        hr = E_OUTOFMEMORY_HR;
    }
    hx_unref(&h->base);
    hx_unlock();
    if (hr < 0) {
        return hr;
    }
    *process = (HCS_PROCESS)h;
    return S_OK_HR;
}

void HcsCloseProcess(HCS_PROCESS process) { hx_handle_close(process, HX_PROCESS); }

HRESULT HcsTerminateProcess(HCS_PROCESS process, HCS_OPERATION operation, PCWSTR options) {
    return hx_handle_call(process, HX_PROCESS, operation, HcsOperationTypeTerminate, options);
}

HRESULT HcsSignalProcess(HCS_PROCESS process, HCS_OPERATION operation, PCWSTR options) {
    return hx_handle_call(process, HX_PROCESS, operation, HcsOperationTypeSignalProcess, options);
}

HRESULT HcsGetProcessInfo(HCS_PROCESS process, HCS_OPERATION operation) {
    return hx_handle_call(process, HX_PROCESS, operation, HcsOperationTypeGetProcessInfo, NULL);
}

HRESULT HcsGetProcessProperties(HCS_PROCESS process, HCS_OPERATION operation,
                                PCWSTR propertyQuery) {
    return hx_handle_call(process, HX_PROCESS, operation, HcsOperationTypeGetProcessProperties,
                          propertyQuery);
}

HRESULT HcsModifyProcess(HCS_PROCESS process, HCS_OPERATION operation, PCWSTR settings) {
    if (settings == NULL) {
        hx_op *op;
        HRESULT hr = hx_op_begin(operation, HcsOperationTypeModifyProcess, NULL, &op);
        return hr < 0 ? hr : hx_op_fail(op, E_INVALIDARG_HR, "settings is NULL.");
    }
    return hx_handle_call(process, HX_PROCESS, operation, HcsOperationTypeModifyProcess, settings);
}

HRESULT HcsSetProcessCallback(HCS_PROCESS process, HCS_EVENT_OPTIONS callbackOptions,
                              void *context, HCS_EVENT_CALLBACK callback) {
    return hx_handle_set_callback(process, HX_PROCESS, callbackOptions, context, callback);
}

HRESULT HcsWaitForProcessExit(HCS_PROCESS computeSystem, DWORD timeoutMs, PWSTR *result) {
    return hx_handle_wait_exit(computeSystem, HX_PROCESS, timeoutMs, result);
}
