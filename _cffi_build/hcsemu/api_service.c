/*
 * api_service.c - computecore service and utility calls (reference 3.4),
 * and the compile-time check that every export has its PFN_ type.
 *
 * The VM file and access helpers answer HCS_E_HYPERV_NOT_INSTALLED, as a
 * Windows host without Hyper-V does: the emulator runs containers only.
 */
#include "hcsemu.h"

#include <string.h>

/* A signature that drifts from hcs_defs.h fails here (and at the
 * definition, through the __typeof__ declarations of hcsemu.h). */
#define HX_CHECK_EXPORT(name) \
    static const PFN_##name hx_check_##name __attribute__((unused)) = name;
HB_COMPUTECORE_EXPORTS(HX_CHECK_EXPORT)
HX_CHECK_EXPORT(LocalFree)
HX_CHECK_EXPORT(CoTaskMemFree)
HX_CHECK_EXPORT(HcsEmuSetCallTimeout)
HX_CHECK_EXPORT(HcsEmuConnected)
#undef HX_CHECK_EXPORT

/* One synchronous service request carrying one document. */
static HRESULT service_call(int kind, PCWSTR document, PWSTR *result) {
    if (result != NULL) {
        *result = NULL;
    }
    uint64_t deadline = hx_sync_deadline();
    hx_conn *conn;
    HRESULT hr = hx_conn_acquire_until(&conn, deadline);
    if (hr < 0) {
        return hr;
    }
    hx_frame f;
    memset(&f, 0, sizeof f);
    char *keep[HX_MAX_FIELDS] = {0};
    f.kind = (uint16_t)kind;
    if (hx_frame_set_field16(&f, 0, document, keep) != 0) {
        hr = E_INVALIDARG_HR;
    } else {
        hr = hx_call_sync(conn, &f, hx_ms_until(deadline), result);
    }
    hx_frame_free_fields(keep);
    hx_lock();
    hx_conn_unref(conn);
    hx_unlock();
    return hr;
}

HRESULT HcsGetServiceProperties(PCWSTR propertyQuery, PWSTR *result) {
    if (result == NULL) {
        return E_POINTER_HR;
    }
    return service_call(HX_K_SERVICE_QUERY, propertyQuery, result);
}

HRESULT HcsModifyServiceSettings(PCWSTR settings, PWSTR *result) {
    if (result != NULL) {
        *result = NULL;
    }
    if (settings == NULL) {
        return E_INVALIDARG_HR;
    }
    return service_call(HX_K_SERVICE_MODIFY, settings, result);
}

HRESULT HcsSubmitWerReport(PCWSTR settings) {
    if (settings == NULL) {
        return E_INVALIDARG_HR;
    }
    return service_call(HX_K_SUBMIT_WER, settings, NULL);
}

static HRESULT needs_hyperv(PCWSTR a, PCWSTR b) {
    return (a == NULL || b == NULL) ? E_INVALIDARG_HR : HCS_E_HYPERV_NOT_INSTALLED_HR;
}

HRESULT HcsCreateEmptyGuestStateFile(PCWSTR guestStateFilePath) {
    return needs_hyperv(guestStateFilePath, guestStateFilePath);
}

HRESULT HcsCreateEmptyRuntimeStateFile(PCWSTR runtimeStateFilePath) {
    return needs_hyperv(runtimeStateFilePath, runtimeStateFilePath);
}

HRESULT HcsGrantVmAccess(PCWSTR vmId, PCWSTR filePath) { return needs_hyperv(vmId, filePath); }

HRESULT HcsRevokeVmAccess(PCWSTR vmId, PCWSTR filePath) { return needs_hyperv(vmId, filePath); }

HRESULT HcsGrantVmGroupAccess(PCWSTR filePath) { return needs_hyperv(filePath, filePath); }

HRESULT HcsRevokeVmGroupAccess(PCWSTR filePath) { return needs_hyperv(filePath, filePath); }
