/*
 * hcsemu_ext.h - what libhcsemu exports beyond computecore.
 *
 * Optional for every library: the bridge resolves these by name like
 * LocalFree and uses them only when present, so computecore.dll (which has
 * none) loads the same way.
 */
#ifndef HCSAIO_HCSEMU_EXT_H
#define HCSAIO_HCSEMU_EXT_H
#include "hcs_defs.h"

/* The synchronous calls this thread makes from now on (HcsOpen*, the
 * service calls, and any connect or handshake they need) give up after
 * timeoutMs with HCS_E_OPERATION_TIMEOUT; HCS_INFINITE restores the
 * library's bounded default. computecore's synchronous calls take no
 * timeout, so the bridge's workers pass the caller's deadline this way. */
typedef void (*PFN_HcsEmuSetCallTimeout)(DWORD timeoutMs);

/* 1 if the library holds a live connection to the service that
 * HCSAIO_EMULATOR_SOCKET names (the next call needs no connect), else 0.
 * Never blocks. The asynchronous exports (HcsCreateComputeSystem,
 * HcsEnumerateComputeSystems) connect inline on the caller's thread, so
 * hcsaio connects on a bridge worker first when this says 0. */
typedef int32_t (*PFN_HcsEmuConnected)(void);

#endif /* HCSAIO_HCSEMU_EXT_H */
