/*
 * hcs_defs.h - the HCS v2 C API (computedefs.h + computecore.h) as hcsaio binds it.
 *
 * Facts from docs/hcs-rules.md ("ABI basics", "Types", "computecore exports"),
 * checked against the mingw-w64 SDK headers by `nox -s windows-abi`.
 *
 * Rules this file follows (they matter for cffi and for the Linux emulator):
 *   - explicit widths, never Linux `long` or `wchar_t`: HRESULT is int32,
 *     WCHAR is char16_t (UTF-16 code unit), DWORD is uint32;
 *   - C enums are declared as 4-byte integer typedefs plus #defines, because
 *     several values exceed INT_MAX (0x80000002, 0xC0000001, 0xF0000000) and
 *     MSVC stores them as negative ints;
 *   - handles use the DECLARE_HANDLE expansion so function types stay
 *     compatible with the SDK's;
 *   - no calling-convention macros: HCS exists on x64/arm64 only, where
 *     WINAPI/CALLBACK collapse to the single platform convention;
 *   - no preprocessor logic below the include guard: the cffi builder feeds
 *     this file (minus its #include/#if lines) to ffi.cdef(), so everything
 *     here must be plain declarations and integer #defines.
 *
 * This file never includes <windows.h>; translation units that need Win32
 * APIs (loader, wake-up) do not include this file.
 */
#ifndef HCSAIO_HCS_DEFS_H
#define HCSAIO_HCS_DEFS_H
#include <stdint.h>
#include <uchar.h>

/* ---- Windows base types (LLP64 widths) ---- */
typedef int32_t HRESULT;
typedef uint32_t DWORD;
typedef uint32_t ULONG;
typedef uint16_t USHORT;
typedef uint64_t UINT64;
typedef uint32_t UINT32;
typedef uint16_t UINT16;
typedef uint8_t BOOLEAN;
typedef int32_t BOOL;
typedef char16_t WCHAR;
typedef const WCHAR *PCWSTR;
typedef WCHAR *PWSTR;
typedef void *HANDLE;
typedef struct _GUID {
    uint32_t Data1;
    uint16_t Data2;
    uint16_t Data3;
    uint8_t Data4[8];
} GUID;
typedef const GUID *REFGUID;
typedef struct _SECURITY_DESCRIPTOR SECURITY_DESCRIPTOR;

/* ---- computedefs.h: handles ---- */
typedef struct HCS_SYSTEM__ *HCS_SYSTEM;
typedef struct HCS_PROCESS__ *HCS_PROCESS;
typedef struct HCS_OPERATION__ *HCS_OPERATION;
typedef struct HCS_CALLBACK__ *HCS_CALLBACK;

#define HCS_INVALID_OPERATION_ID 0xFFFFFFFFFFFFFFFF

/* ---- HCS_OPERATION_TYPE ---- */
typedef int32_t HCS_OPERATION_TYPE;
#define HcsOperationTypeNone -1
#define HcsOperationTypeEnumerate 0
#define HcsOperationTypeCreate 1
#define HcsOperationTypeStart 2
#define HcsOperationTypeShutdown 3
#define HcsOperationTypePause 4
#define HcsOperationTypeResume 5
#define HcsOperationTypeSave 6
#define HcsOperationTypeTerminate 7
#define HcsOperationTypeModify 8
#define HcsOperationTypeGetProperties 9
#define HcsOperationTypeCreateProcess 10
#define HcsOperationTypeSignalProcess 11
#define HcsOperationTypeGetProcessInfo 12
#define HcsOperationTypeGetProcessProperties 13
#define HcsOperationTypeModifyProcess 14
#define HcsOperationTypeCrash 15
#define HcsOperationTypeReserved1 16
#define HcsOperationTypeReserved2 17
#define HcsOperationTypeReserved3 18
#define HcsOperationTypeLiveMigration 19

typedef void (*HCS_OPERATION_COMPLETION)(HCS_OPERATION operation, void *context);

/* ---- HCS_EVENT_TYPE ---- */
typedef int32_t HCS_EVENT_TYPE;
#define HcsEventInvalid 0x00000000
#define HcsEventSystemExited 0x00000001
#define HcsEventSystemCrashInitiated 0x00000002
#define HcsEventSystemCrashReport 0x00000003
#define HcsEventSystemRdpEnhancedModeStateChanged 0x00000004
#define HcsEventSystemSiloJobCreated 0x00000005
#define HcsEventSystemGuestConnectionClosed 0x00000006
#define HcsEventProcessExited 0x00010000
#define HcsEventOperationCallback 0x01000000
#define HcsEventServiceDisconnect 0x02000000
#define HcsEventGroupVmLifecycle 0x80000002
#define HcsEventGroupLiveMigration 0x80000003
#define HcsEventGroupOperationInfo 0xC0000001

typedef struct HCS_EVENT {
    HCS_EVENT_TYPE Type;
    PCWSTR EventData;
    HCS_OPERATION Operation;
} HCS_EVENT;

/* ---- HCS_EVENT_OPTIONS (flags) ---- */
typedef int32_t HCS_EVENT_OPTIONS;
#define HcsEventOptionNone 0x00000000
#define HcsEventOptionEnableOperationCallbacks 0x00000001
#define HcsEventOptionEnableVmLifecycle 0x00000002
#define HcsEventOptionEnableLiveMigrationEvents 0x00000004

/* ---- HCS_OPERATION_OPTIONS (flags, 10.0.22543+) ---- */
typedef int32_t HCS_OPERATION_OPTIONS;
#define HcsOperationOptionNone 0x00000000
#define HcsOperationOptionProgressUpdate 0x00000001
#define HcsOperationOptionReserved1 0x00000002

typedef void (*HCS_EVENT_CALLBACK)(HCS_EVENT *event, void *context);

/* ---- HCS_RESOURCE_TYPE (10.0.22543+) ---- */
typedef int32_t HCS_RESOURCE_TYPE;
#define HcsResourceTypeNone 0
#define HcsResourceTypeFile 1
#define HcsResourceTypeJob 2
#define HcsResourceTypeComObject 3
#define HcsResourceTypeSocket 4

/* ---- legacy v1 notifications (vmcompute.dll) ---- */
typedef int32_t HCS_NOTIFICATION_FLAGS;
#define HcsNotificationFlagSuccess 0x00000000
#define HcsNotificationFlagFailure 0x80000000

typedef int32_t HCS_NOTIFICATIONS;
#define HcsNotificationInvalid 0x00000000
#define HcsNotificationSystemExited 0x00000001
#define HcsNotificationSystemCreateCompleted 0x00000002
#define HcsNotificationSystemStartCompleted 0x00000003
#define HcsNotificationSystemPauseCompleted 0x00000004
#define HcsNotificationSystemResumeCompleted 0x00000005
#define HcsNotificationSystemCrashReport 0x00000006
#define HcsNotificationSystemSiloJobCreated 0x00000007
#define HcsNotificationSystemSaveCompleted 0x00000008
#define HcsNotificationSystemRdpEnhancedModeStateChanged 0x00000009
#define HcsNotificationSystemShutdownFailed 0x0000000A
#define HcsNotificationSystemShutdownCompleted 0x0000000A
#define HcsNotificationSystemGetPropertiesCompleted 0x0000000B
#define HcsNotificationSystemModifyCompleted 0x0000000C
#define HcsNotificationSystemCrashInitiated 0x0000000D
#define HcsNotificationSystemGuestConnectionClosed 0x0000000E
#define HcsNotificationSystemOperationCompletion 0x0000000F
#define HcsNotificationSystemPassThru 0x00000010
#define HcsNotificationOperationProgressUpdate 0x00000100
#define HcsNotificationProcessExited 0x00010000
#define HcsNotificationServiceDisconnect 0x01000000
#define HcsNotificationFlagsReserved 0xF0000000

typedef void (*HCS_NOTIFICATION_CALLBACK)(DWORD notificationType, void *context,
                                          HRESULT notificationStatus, PCWSTR notificationData);

typedef struct _HCS_PROCESS_INFORMATION {
    DWORD ProcessId;
    DWORD Reserved;
    HANDLE StdInput;
    HANDLE StdOutput;
    HANDLE StdError;
} HCS_PROCESS_INFORMATION;

/* ---- HCS_CREATE_OPTIONS ---- */
typedef int32_t HCS_CREATE_OPTIONS;
#define HcsCreateOptions_1 0x00010000

typedef struct _HCS_CREATE_OPTIONS_1 {
    HCS_CREATE_OPTIONS Version;
    HANDLE UserToken;
    SECURITY_DESCRIPTOR *SecurityDescriptor;
    HCS_EVENT_OPTIONS CallbackOptions;
    void *CallbackContext;
    HCS_EVENT_CALLBACK Callback;
} HCS_CREATE_OPTIONS_1;

/* GENERIC_ALL: the only access HcsOpenComputeSystem/HcsOpenProcess accept. */
#define HCS_GENERIC_ALL 0x10000000
/* INFINITE for the timeoutMs of the HcsWaitFor* calls. */
#define HCS_INFINITE 0xFFFFFFFF

/* ==== computecore.dll exports, one pointer type each ==== */
/* (docs/hcs-rules.md, "computecore exports") */

/* operations */
typedef HCS_OPERATION (*PFN_HcsCreateOperation)(const void *context, HCS_OPERATION_COMPLETION callback);
typedef HCS_OPERATION (*PFN_HcsCreateOperationWithNotifications)(HCS_OPERATION_OPTIONS eventTypes, const void *context, HCS_EVENT_CALLBACK callback);
typedef void (*PFN_HcsCloseOperation)(HCS_OPERATION operation);
typedef void *(*PFN_HcsGetOperationContext)(HCS_OPERATION operation);
typedef HRESULT (*PFN_HcsSetOperationContext)(HCS_OPERATION operation, const void *context);
typedef HCS_SYSTEM (*PFN_HcsGetComputeSystemFromOperation)(HCS_OPERATION operation);
typedef HCS_PROCESS (*PFN_HcsGetProcessFromOperation)(HCS_OPERATION operation);
typedef HCS_OPERATION_TYPE (*PFN_HcsGetOperationType)(HCS_OPERATION operation);
typedef UINT64 (*PFN_HcsGetOperationId)(HCS_OPERATION operation);
typedef HRESULT (*PFN_HcsGetOperationResult)(HCS_OPERATION operation, PWSTR *resultDocument);
typedef HRESULT (*PFN_HcsGetOperationResultAndProcessInfo)(HCS_OPERATION operation, HCS_PROCESS_INFORMATION *processInformation, PWSTR *resultDocument);
typedef HRESULT (*PFN_HcsAddResourceToOperation)(HCS_OPERATION operation, HCS_RESOURCE_TYPE type, PCWSTR uri, HANDLE handle);
typedef HRESULT (*PFN_HcsGetProcessorCompatibilityFromSavedState)(PCWSTR RuntimeFileName, PCWSTR *ProcessorFeaturesString);
typedef HRESULT (*PFN_HcsWaitForOperationResult)(HCS_OPERATION operation, DWORD timeoutMs, PWSTR *resultDocument);
typedef HRESULT (*PFN_HcsWaitForOperationResultAndProcessInfo)(HCS_OPERATION operation, DWORD timeoutMs, HCS_PROCESS_INFORMATION *processInformation, PWSTR *resultDocument);
typedef HRESULT (*PFN_HcsSetOperationCallback)(HCS_OPERATION operation, const void *context, HCS_OPERATION_COMPLETION callback);
typedef HRESULT (*PFN_HcsCancelOperation)(HCS_OPERATION operation);
typedef HRESULT (*PFN_HcsGetOperationProperties)(HCS_OPERATION operation, PCWSTR options, PWSTR *resultDocument);

/* compute systems */
typedef HRESULT (*PFN_HcsEnumerateComputeSystems)(PCWSTR query, HCS_OPERATION operation);
typedef HRESULT (*PFN_HcsEnumerateComputeSystemsInNamespace)(PCWSTR idNamespace, PCWSTR query, HCS_OPERATION operation);
typedef HRESULT (*PFN_HcsCreateComputeSystem)(PCWSTR id, PCWSTR configuration, HCS_OPERATION operation, const SECURITY_DESCRIPTOR *securityDescriptor, HCS_SYSTEM *computeSystem);
typedef HRESULT (*PFN_HcsCreateComputeSystemInNamespace)(PCWSTR idNamespace, PCWSTR id, PCWSTR configuration, HCS_OPERATION operation, const HCS_CREATE_OPTIONS *options, HCS_SYSTEM *computeSystem);
typedef HRESULT (*PFN_HcsOpenComputeSystem)(PCWSTR id, DWORD requestedAccess, HCS_SYSTEM *computeSystem);
typedef HRESULT (*PFN_HcsOpenComputeSystemInNamespace)(PCWSTR idNamespace, PCWSTR id, DWORD requestedAccess, HCS_SYSTEM *computeSystem);
typedef void (*PFN_HcsCloseComputeSystem)(HCS_SYSTEM computeSystem);
typedef HRESULT (*PFN_HcsStartComputeSystem)(HCS_SYSTEM computeSystem, HCS_OPERATION operation, PCWSTR options);
typedef HRESULT (*PFN_HcsShutDownComputeSystem)(HCS_SYSTEM computeSystem, HCS_OPERATION operation, PCWSTR options);
typedef HRESULT (*PFN_HcsTerminateComputeSystem)(HCS_SYSTEM computeSystem, HCS_OPERATION operation, PCWSTR options);
typedef HRESULT (*PFN_HcsCrashComputeSystem)(HCS_SYSTEM computeSystem, HCS_OPERATION operation, PCWSTR options);
typedef HRESULT (*PFN_HcsPauseComputeSystem)(HCS_SYSTEM computeSystem, HCS_OPERATION operation, PCWSTR options);
typedef HRESULT (*PFN_HcsResumeComputeSystem)(HCS_SYSTEM computeSystem, HCS_OPERATION operation, PCWSTR options);
typedef HRESULT (*PFN_HcsSaveComputeSystem)(HCS_SYSTEM computeSystem, HCS_OPERATION operation, PCWSTR options);
typedef HRESULT (*PFN_HcsGetComputeSystemProperties)(HCS_SYSTEM computeSystem, HCS_OPERATION operation, PCWSTR propertyQuery);
typedef HRESULT (*PFN_HcsModifyComputeSystem)(HCS_SYSTEM computeSystem, HCS_OPERATION operation, PCWSTR configuration, HANDLE identity);
typedef HRESULT (*PFN_HcsWaitForComputeSystemExit)(HCS_SYSTEM computeSystem, DWORD timeoutMs, PWSTR *result);
typedef HRESULT (*PFN_HcsSetComputeSystemCallback)(HCS_SYSTEM computeSystem, HCS_EVENT_OPTIONS callbackOptions, const void *context, HCS_EVENT_CALLBACK callback);
/* live migration (newest header; HcsCancelLiveMigration is hcsshim-only) */
typedef HRESULT (*PFN_HcsInitializeLiveMigrationOnSource)(HCS_SYSTEM computeSystem, HCS_OPERATION operation, PCWSTR options);
typedef HRESULT (*PFN_HcsStartLiveMigrationOnSource)(HCS_SYSTEM computeSystem, HCS_OPERATION operation, PCWSTR options);
typedef HRESULT (*PFN_HcsStartLiveMigrationTransfer)(HCS_SYSTEM computeSystem, HCS_OPERATION operation, PCWSTR options);
typedef HRESULT (*PFN_HcsFinalizeLiveMigration)(HCS_SYSTEM computeSystem, HCS_OPERATION operation, PCWSTR options);
typedef HRESULT (*PFN_HcsCancelLiveMigration)(HCS_SYSTEM computeSystem, HCS_OPERATION operation, PCWSTR options);

/* processes */
typedef HRESULT (*PFN_HcsCreateProcess)(HCS_SYSTEM computeSystem, PCWSTR processParameters, HCS_OPERATION operation, const SECURITY_DESCRIPTOR *securityDescriptor, HCS_PROCESS *process);
typedef HRESULT (*PFN_HcsOpenProcess)(HCS_SYSTEM computeSystem, DWORD processId, DWORD requestedAccess, HCS_PROCESS *process);
typedef void (*PFN_HcsCloseProcess)(HCS_PROCESS process);
typedef HRESULT (*PFN_HcsTerminateProcess)(HCS_PROCESS process, HCS_OPERATION operation, PCWSTR options);
typedef HRESULT (*PFN_HcsSignalProcess)(HCS_PROCESS process, HCS_OPERATION operation, PCWSTR options);
typedef HRESULT (*PFN_HcsGetProcessInfo)(HCS_PROCESS process, HCS_OPERATION operation);
typedef HRESULT (*PFN_HcsGetProcessProperties)(HCS_PROCESS process, HCS_OPERATION operation, PCWSTR propertyQuery);
typedef HRESULT (*PFN_HcsModifyProcess)(HCS_PROCESS process, HCS_OPERATION operation, PCWSTR settings);
typedef HRESULT (*PFN_HcsSetProcessCallback)(HCS_PROCESS process, HCS_EVENT_OPTIONS callbackOptions, void *context, HCS_EVENT_CALLBACK callback);
typedef HRESULT (*PFN_HcsWaitForProcessExit)(HCS_PROCESS computeSystem, DWORD timeoutMs, PWSTR *result);

/* service and utility */
typedef HRESULT (*PFN_HcsGetServiceProperties)(PCWSTR propertyQuery, PWSTR *result);
typedef HRESULT (*PFN_HcsModifyServiceSettings)(PCWSTR settings, PWSTR *result);
typedef HRESULT (*PFN_HcsSubmitWerReport)(PCWSTR settings);
typedef HRESULT (*PFN_HcsCreateEmptyGuestStateFile)(PCWSTR guestStateFilePath);
typedef HRESULT (*PFN_HcsCreateEmptyRuntimeStateFile)(PCWSTR runtimeStateFilePath);
typedef HRESULT (*PFN_HcsGrantVmAccess)(PCWSTR vmId, PCWSTR filePath);
typedef HRESULT (*PFN_HcsRevokeVmAccess)(PCWSTR vmId, PCWSTR filePath);
typedef HRESULT (*PFN_HcsGrantVmGroupAccess)(PCWSTR filePath);
typedef HRESULT (*PFN_HcsRevokeVmGroupAccess)(PCWSTR filePath);

/* The documented frees for returned strings: LocalFree (HCS) and CoTaskMemFree (HCN, hcsshim). */
typedef void *(*PFN_LocalFree)(void *hMem);
typedef void (*PFN_CoTaskMemFree)(void *pv);

#endif /* HCSAIO_HCS_DEFS_H */
