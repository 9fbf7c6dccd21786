/*
 * hcn_defs.h - the HCN C API (computenetwork.h) as hcsaio declares it.
 *
 * Facts from docs/hcs-rules.md, "computestorage and computenetwork",
 * checked against the mingw-w64 SDK headers by `nox -s windows-abi`
 * (tools/gen_abi_check.py). Same rules as hcs_defs.h: explicit widths,
 * enums as int32 typedefs plus #defines, no calling-convention macros, and
 * no preprocessor logic below the include guard, so the cffi builder can
 * feed this file (minus #include/#if lines) to ffi.cdef() after hcs_defs.h.
 *
 * Nothing binds these exports yet; the declarations exist so the HCN layer
 * starts from checked signatures. Every HCN call is synchronous. Strings
 * returned through PWSTR* (results and ErrorRecord) are freed with
 * CoTaskMemFree.
 */
#ifndef HCSAIO_HCN_DEFS_H
#define HCSAIO_HCN_DEFS_H
#include "hcs_defs.h"

/* ---- handles: plain void* in computenetwork.h (not DECLARE_HANDLE) ---- */
typedef void *HCN_NETWORK;
typedef HCN_NETWORK *PHCN_NETWORK;
typedef void *HCN_NAMESPACE;
typedef HCN_NAMESPACE *PHCN_NAMESPACE;
typedef void *HCN_ENDPOINT;
typedef HCN_ENDPOINT *PHCN_ENDPOINT;
typedef void *HCN_LOADBALANCER;
typedef HCN_LOADBALANCER *PHCN_LOADBALANCER;
typedef void *HCN_SERVICE;
typedef HCN_SERVICE *PHCN_SERVICE;
typedef void *HCN_GUESTNETWORKSERVICE;
typedef HCN_GUESTNETWORKSERVICE *PHCN_GUESTNETWORKSERVICE;
typedef void *HCN_CALLBACK;

/* ---- HCN_NOTIFICATIONS (hex: 0x9 is followed by 0x10; upper 4 bits are flags) ---- */
typedef int32_t HCN_NOTIFICATIONS;
#define HcnNotificationInvalid 0x00000000
#define HcnNotificationNetworkPreCreate 0x00000001
#define HcnNotificationNetworkCreate 0x00000002
#define HcnNotificationNetworkPreDelete 0x00000003
#define HcnNotificationNetworkDelete 0x00000004
#define HcnNotificationNamespaceCreate 0x00000005
#define HcnNotificationNamespaceDelete 0x00000006
#define HcnNotificationGuestNetworkServiceCreate 0x00000007
#define HcnNotificationGuestNetworkServiceDelete 0x00000008
#define HcnNotificationNetworkEndpointAttached 0x00000009
#define HcnNotificationNetworkEndpointDetached 0x00000010
#define HcnNotificationGuestNetworkServiceStateChanged 0x00000011
#define HcnNotificationGuestNetworkServiceInterfaceStateChanged 0x00000012
#define HcnNotificationServiceDisconnect 0x01000000
#define HcnNotificationFlagsReserved 0xF0000000

typedef void (*HCN_NOTIFICATION_CALLBACK)(DWORD NotificationType, void *Context,
                                          HRESULT NotificationStatus, PCWSTR NotificationData);

/* ---- guest network service port reservation (10.0.22000+) ---- */
typedef int32_t HCN_PORT_PROTOCOL;
#define HCN_PORT_PROTOCOL_TCP 0x01
#define HCN_PORT_PROTOCOL_UDP 0x02
#define HCN_PORT_PROTOCOL_BOTH 0x03

typedef int32_t HCN_PORT_ACCESS;
#define HCN_PORT_ACCESS_EXCLUSIVE 0x01
#define HCN_PORT_ACCESS_SHARED 0x02

/* An inclusive port range; 4 bytes. */
typedef struct tagHCN_PORT_RANGE_RESERVATION {
    USHORT startingPort;
    USHORT endingPort;
} HCN_PORT_RANGE_RESERVATION;

/* Offsets 0, 16, 32, 40, 48, 52, 56, 60, 62; sizeof 64 (Priority is 8-aligned). */
typedef struct tagHCN_PORT_RANGE_ENTRY {
    GUID OwningPartitionId;
    GUID TargetPartitionId;
    HCN_PORT_PROTOCOL Protocol;
    UINT64 Priority;
    UINT32 ReservationType;
    UINT32 SharingFlags;
    UINT32 DeliveryMode;
    UINT16 StartingPort;
    UINT16 EndingPort;
} HCN_PORT_RANGE_ENTRY;
typedef HCN_PORT_RANGE_ENTRY *PHCN_PORT_RANGE_ENTRY;

/* ==== computenetwork.dll exports, one pointer type each ==== */

/* networks */
typedef HRESULT (*PFN_HcnEnumerateNetworks)(PCWSTR Query, PWSTR *Networks, PWSTR *ErrorRecord);
typedef HRESULT (*PFN_HcnCreateNetwork)(REFGUID Id, PCWSTR Settings, PHCN_NETWORK Network, PWSTR *ErrorRecord);
typedef HRESULT (*PFN_HcnOpenNetwork)(REFGUID Id, PHCN_NETWORK Network, PWSTR *ErrorRecord);
typedef HRESULT (*PFN_HcnModifyNetwork)(HCN_NETWORK Network, PCWSTR Settings, PWSTR *ErrorRecord);
typedef HRESULT (*PFN_HcnQueryNetworkProperties)(HCN_NETWORK Network, PCWSTR Query, PWSTR *Properties, PWSTR *ErrorRecord);
typedef HRESULT (*PFN_HcnDeleteNetwork)(REFGUID Id, PWSTR *ErrorRecord);
typedef HRESULT (*PFN_HcnCloseNetwork)(HCN_NETWORK Network);

/* namespaces */
typedef HRESULT (*PFN_HcnEnumerateNamespaces)(PCWSTR Query, PWSTR *Namespaces, PWSTR *ErrorRecord);
typedef HRESULT (*PFN_HcnCreateNamespace)(REFGUID Id, PCWSTR Settings, PHCN_NAMESPACE Namespace, PWSTR *ErrorRecord);
typedef HRESULT (*PFN_HcnOpenNamespace)(REFGUID Id, PHCN_NAMESPACE Namespace, PWSTR *ErrorRecord);
typedef HRESULT (*PFN_HcnModifyNamespace)(HCN_NAMESPACE Namespace, PCWSTR Settings, PWSTR *ErrorRecord);
typedef HRESULT (*PFN_HcnQueryNamespaceProperties)(HCN_NAMESPACE Namespace, PCWSTR Query, PWSTR *Properties, PWSTR *ErrorRecord);
typedef HRESULT (*PFN_HcnDeleteNamespace)(REFGUID Id, PWSTR *ErrorRecord);
typedef HRESULT (*PFN_HcnCloseNamespace)(HCN_NAMESPACE Namespace);

/* endpoints */
typedef HRESULT (*PFN_HcnEnumerateEndpoints)(PCWSTR Query, PWSTR *Endpoints, PWSTR *ErrorRecord);
typedef HRESULT (*PFN_HcnCreateEndpoint)(HCN_NETWORK Network, REFGUID Id, PCWSTR Settings, PHCN_ENDPOINT Endpoint, PWSTR *ErrorRecord);
typedef HRESULT (*PFN_HcnOpenEndpoint)(REFGUID Id, PHCN_ENDPOINT Endpoint, PWSTR *ErrorRecord);
typedef HRESULT (*PFN_HcnModifyEndpoint)(HCN_ENDPOINT Endpoint, PCWSTR Settings, PWSTR *ErrorRecord);
typedef HRESULT (*PFN_HcnQueryEndpointProperties)(HCN_ENDPOINT Endpoint, PCWSTR Query, PWSTR *Properties, PWSTR *ErrorRecord);
typedef HRESULT (*PFN_HcnDeleteEndpoint)(REFGUID Id, PWSTR *ErrorRecord);
typedef HRESULT (*PFN_HcnCloseEndpoint)(HCN_ENDPOINT Endpoint);
/* 10.0.22543+ */
typedef HRESULT (*PFN_HcnQueryEndpointStats)(HCN_ENDPOINT Endpoint, PCWSTR Query, PWSTR *Stats, PWSTR *ErrorRecord);
typedef HRESULT (*PFN_HcnQueryEndpointAddresses)(HCN_ENDPOINT Endpoint, PCWSTR Query, PWSTR *Addresses, PWSTR *ErrorRecord);

/* load balancers */
typedef HRESULT (*PFN_HcnEnumerateLoadBalancers)(PCWSTR Query, PWSTR *LoadBalancer, PWSTR *ErrorRecord);
typedef HRESULT (*PFN_HcnCreateLoadBalancer)(REFGUID Id, PCWSTR Settings, PHCN_LOADBALANCER LoadBalancer, PWSTR *ErrorRecord);
typedef HRESULT (*PFN_HcnOpenLoadBalancer)(REFGUID Id, PHCN_LOADBALANCER LoadBalancer, PWSTR *ErrorRecord);
typedef HRESULT (*PFN_HcnModifyLoadBalancer)(HCN_LOADBALANCER LoadBalancer, PCWSTR Settings, PWSTR *ErrorRecord);
typedef HRESULT (*PFN_HcnQueryLoadBalancerProperties)(HCN_LOADBALANCER LoadBalancer, PCWSTR Query, PWSTR *Properties, PWSTR *ErrorRecord);
typedef HRESULT (*PFN_HcnDeleteLoadBalancer)(REFGUID Id, PWSTR *ErrorRecord);
typedef HRESULT (*PFN_HcnCloseLoadBalancer)(HCN_LOADBALANCER LoadBalancer);

/* SDN routes: exported and bound by hcsshim, in no SDK header. Same shapes
 * as the load balancer calls (a symbol dump shows HcnCreateSdnRoute(const
 * GUID&, const WCHAR*, void**, WCHAR**)); the handle is a plain void*. */
typedef HRESULT (*PFN_HcnEnumerateSdnRoutes)(PCWSTR Query, PWSTR *Routes, PWSTR *ErrorRecord);
typedef HRESULT (*PFN_HcnCreateSdnRoute)(REFGUID Id, PCWSTR Settings, void **Route, PWSTR *ErrorRecord);
typedef HRESULT (*PFN_HcnOpenSdnRoute)(REFGUID Id, void **Route, PWSTR *ErrorRecord);
typedef HRESULT (*PFN_HcnModifySdnRoute)(void *Route, PCWSTR Settings, PWSTR *ErrorRecord);
typedef HRESULT (*PFN_HcnQuerySdnRouteProperties)(void *Route, PCWSTR Query, PWSTR *Properties, PWSTR *ErrorRecord);
typedef HRESULT (*PFN_HcnDeleteSdnRoute)(REFGUID Id, PWSTR *ErrorRecord);
typedef HRESULT (*PFN_HcnCloseSdnRoute)(void *Route);

/* service notifications */
typedef HRESULT (*PFN_HcnRegisterServiceCallback)(HCN_NOTIFICATION_CALLBACK Callback, void *Context, HCN_CALLBACK *CallbackHandle);
typedef HRESULT (*PFN_HcnUnregisterServiceCallback)(HCN_CALLBACK CallbackHandle);

/* guest network service (10.0.22000+) */
typedef HRESULT (*PFN_HcnRegisterGuestNetworkServiceCallback)(HCN_GUESTNETWORKSERVICE GuestNetworkService, HCN_NOTIFICATION_CALLBACK Callback, void *Context, HCN_CALLBACK *CallbackHandle);
typedef HRESULT (*PFN_HcnUnregisterGuestNetworkServiceCallback)(HCN_CALLBACK CallbackHandle);
typedef HRESULT (*PFN_HcnCreateGuestNetworkService)(REFGUID Id, PCWSTR Settings, PHCN_GUESTNETWORKSERVICE GuestNetworkService, PWSTR *ErrorRecord);
typedef HRESULT (*PFN_HcnCloseGuestNetworkService)(HCN_GUESTNETWORKSERVICE GuestNetworkService);
typedef HRESULT (*PFN_HcnModifyGuestNetworkService)(HCN_GUESTNETWORKSERVICE GuestNetworkService, PCWSTR Settings, PWSTR *ErrorRecord);
typedef HRESULT (*PFN_HcnDeleteGuestNetworkService)(REFGUID Id, PWSTR *ErrorRecord);
typedef HRESULT (*PFN_HcnReserveGuestNetworkServicePort)(HCN_GUESTNETWORKSERVICE GuestNetworkService, HCN_PORT_PROTOCOL Protocol, HCN_PORT_ACCESS Access, USHORT Port, HANDLE *PortReservationHandle);
typedef HRESULT (*PFN_HcnReserveGuestNetworkServicePortRange)(HCN_GUESTNETWORKSERVICE GuestNetworkService, USHORT PortCount, HCN_PORT_RANGE_RESERVATION *PortRangeReservation, HANDLE *PortReservationHandle);
typedef HRESULT (*PFN_HcnReleaseGuestNetworkServicePortReservationHandle)(HANDLE PortReservationHandle);
typedef HRESULT (*PFN_HcnEnumerateGuestNetworkPortReservations)(ULONG *ReturnCount, HCN_PORT_RANGE_ENTRY **PortEntries);
typedef void (*PFN_HcnFreeGuestNetworkPortReservations)(HCN_PORT_RANGE_ENTRY *PortEntries);

#endif /* HCSAIO_HCN_DEFS_H */
