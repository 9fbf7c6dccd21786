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

#endif /* HCSAIO_HCSEMU_EXT_H */
