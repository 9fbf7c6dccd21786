/*
 * hcs_exports.h - every export hcsaio binds, one line each, as an X-macro.
 *
 * The loader (bridge/loader.c) expands it into the name table it resolves at
 * run time; the cffi builder reads the same lines to declare the function
 * table and the checked call wrappers, so the list exists exactly once.
 * Every export is optional: a missing one stays NULL and calling it reports
 * ERROR_PROC_NOT_FOUND (0x8007007F) instead of failing to load.
 */
#ifndef HCSAIO_HCS_EXPORTS_H
#define HCSAIO_HCS_EXPORTS_H

/* computecore.dll (docs/hcs-rules.md, "computecore exports") */
#define HB_COMPUTECORE_EXPORTS(X) \
    X(HcsCreateOperation) \
    X(HcsCreateOperationWithNotifications) \
    X(HcsCloseOperation) \
    X(HcsGetOperationContext) \
    X(HcsSetOperationContext) \
    X(HcsGetComputeSystemFromOperation) \
    X(HcsGetProcessFromOperation) \
    X(HcsGetOperationType) \
    X(HcsGetOperationId) \
    X(HcsGetOperationResult) \
    X(HcsGetOperationResultAndProcessInfo) \
    X(HcsAddResourceToOperation) \
    X(HcsGetProcessorCompatibilityFromSavedState) \
    X(HcsWaitForOperationResult) \
    X(HcsWaitForOperationResultAndProcessInfo) \
    X(HcsSetOperationCallback) \
    X(HcsCancelOperation) \
    X(HcsGetOperationProperties) \
    X(HcsEnumerateComputeSystems) \
    X(HcsEnumerateComputeSystemsInNamespace) \
    X(HcsCreateComputeSystem) \
    X(HcsCreateComputeSystemInNamespace) \
    X(HcsOpenComputeSystem) \
    X(HcsOpenComputeSystemInNamespace) \
    X(HcsCloseComputeSystem) \
    X(HcsStartComputeSystem) \
    X(HcsShutDownComputeSystem) \
    X(HcsTerminateComputeSystem) \
    X(HcsCrashComputeSystem) \
    X(HcsPauseComputeSystem) \
    X(HcsResumeComputeSystem) \
    X(HcsSaveComputeSystem) \
    X(HcsGetComputeSystemProperties) \
    X(HcsModifyComputeSystem) \
    X(HcsWaitForComputeSystemExit) \
    X(HcsSetComputeSystemCallback) \
    X(HcsInitializeLiveMigrationOnSource) \
    X(HcsStartLiveMigrationOnSource) \
    X(HcsStartLiveMigrationTransfer) \
    X(HcsFinalizeLiveMigration) \
    X(HcsCancelLiveMigration) \
    X(HcsCreateProcess) \
    X(HcsOpenProcess) \
    X(HcsCloseProcess) \
    X(HcsTerminateProcess) \
    X(HcsSignalProcess) \
    X(HcsGetProcessInfo) \
    X(HcsGetProcessProperties) \
    X(HcsModifyProcess) \
    X(HcsSetProcessCallback) \
    X(HcsWaitForProcessExit) \
    X(HcsGetServiceProperties) \
    X(HcsModifyServiceSettings) \
    X(HcsSubmitWerReport) \
    X(HcsCreateEmptyGuestStateFile) \
    X(HcsCreateEmptyRuntimeStateFile) \
    X(HcsGrantVmAccess) \
    X(HcsRevokeVmAccess) \
    X(HcsGrantVmGroupAccess) \
    X(HcsRevokeVmGroupAccess)

#endif /* HCSAIO_HCS_EXPORTS_H */
