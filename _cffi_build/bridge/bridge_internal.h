/*
 * bridge_internal.h - declarations shared by the bridge's C files but not
 * exported to Python.
 */
#ifndef HCSAIO_BRIDGE_INTERNAL_H
#define HCSAIO_BRIDGE_INTERNAL_H
#include "bridge.h"
#include "hcs_errors.h"
#include "hcs_exports.h"

/* The function table of one loaded library: one pointer per export, NULL when absent. */
typedef struct hb_computecore {
#define HB_X(name) PFN_##name name;
    HB_COMPUTECORE_EXPORTS(HB_X)
#undef HB_X
} hb_computecore;

/* NULL for an index that was never opened. Libraries are never unloaded,
 * so the pointer stays valid for the life of the process. */
const hb_computecore *hb_library_api(int32_t lib);

/* Token layout, see bridge.h. */
#define HB_SEQUENCE_LIMIT ((uint64_t)1 << HB_TOKEN_SEQ_BITS)
#define HB_TOKEN_LIB(t) ((int32_t)(((t) >> 56) & 0xFF))
#define HB_TOKEN_SLOT(t) ((int32_t)(((t) >> HB_TOKEN_SEQ_BITS) & 0xFFF))
#define HB_TOKEN_SEQ(t) ((t) & (HB_SEQUENCE_LIMIT - 1))

#endif /* HCSAIO_BRIDGE_INTERNAL_H */
