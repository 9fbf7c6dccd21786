/*
 * hcs_storage_defs.h - the HCS storage C API (computestorage.h) as hcsaio
 * declares it.
 *
 * Facts from docs/hcs-rules.md, "computestorage and computenetwork",
 * checked against the mingw-w64 SDK headers by `nox -s windows-abi`
 * (tools/gen_abi_check.py). Same rules as hcs_defs.h (explicit widths, no
 * preprocessor logic below the include guard: cdef-compatible).
 *
 * Nothing binds these exports yet. They are what a live Windows container
 * needs before HcsCreateComputeSystem: HcsImportLayer / HcsSetupBaseOSLayer
 * for a base image and HcsInitializeWritableLayer + HcsAttachLayerStorageFilter
 * for the scratch layer. All calls are synchronous; the one returned string
 * (HcsGetLayerVhdMountPath) is freed with LocalFree.
 */
#ifndef HCSAIO_HCS_STORAGE_DEFS_H
#define HCSAIO_HCS_STORAGE_DEFS_H
#include "hcs_defs.h"

typedef HRESULT (*PFN_HcsImportLayer)(PCWSTR layerPath, PCWSTR sourceFolderPath, PCWSTR layerData);
typedef HRESULT (*PFN_HcsExportLayer)(PCWSTR layerPath, PCWSTR exportFolderPath, PCWSTR layerData, PCWSTR options);
typedef HRESULT (*PFN_HcsExportLegacyWritableLayer)(PCWSTR writableLayerMountPath, PCWSTR writableLayerFolderPath, PCWSTR exportFolderPath, PCWSTR layerData);
typedef HRESULT (*PFN_HcsDestroyLayer)(PCWSTR layerPath);
typedef HRESULT (*PFN_HcsSetupBaseOSLayer)(PCWSTR layerPath, HANDLE vhdHandle, PCWSTR options);
typedef HRESULT (*PFN_HcsInitializeWritableLayer)(PCWSTR writableLayerPath, PCWSTR layerData, PCWSTR options);
typedef HRESULT (*PFN_HcsInitializeLegacyWritableLayer)(PCWSTR writableLayerMountPath, PCWSTR writableLayerFolderPath, PCWSTR layerData, PCWSTR options);
typedef HRESULT (*PFN_HcsAttachLayerStorageFilter)(PCWSTR layerPath, PCWSTR layerData);
typedef HRESULT (*PFN_HcsDetachLayerStorageFilter)(PCWSTR layerPath);
typedef HRESULT (*PFN_HcsFormatWritableLayerVhd)(HANDLE vhdHandle);
typedef HRESULT (*PFN_HcsGetLayerVhdMountPath)(HANDLE vhdHandle, PWSTR *mountPath);
/* 10.0.20257+ (the docs page wrongly says the second parameter is a vhdHandle) */
typedef HRESULT (*PFN_HcsSetupBaseOSVolume)(PCWSTR layerPath, PCWSTR volumePath, PCWSTR options);
/* newest header / hcsshim (UnionFS overlays) */
typedef HRESULT (*PFN_HcsAttachOverlayFilter)(PCWSTR VolumeMountPoint, PCWSTR LayerData);
typedef HRESULT (*PFN_HcsDetachOverlayFilter)(PCWSTR VolumeMountPoint, PCWSTR LayerData);

#endif /* HCSAIO_HCS_STORAGE_DEFS_H */
