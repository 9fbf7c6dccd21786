/*
 * bridge.h - the C callback bridge between HCS threads and Python event loops.
 *
 * This is the whole surface hcsaio._native sees (besides hcs_defs.h and the
 * generated hb_call_* wrappers). The cffi builder feeds it to ffi.cdef()
 * after dropping #include/#if lines, so keep it to plain declarations.
 *
 * Design (see ../shared/DESIGN.md, "The callback bridge"):
 *   - Context pointers handed to HCS are 64-bit tokens, not Python handles:
 *       bits 56..63  library index  (which function table to call back into)
 *       bits 44..55  dispatcher slot
 *       bits  0..43  sequence, from hb_sequence_reserve: unique in the process
 *                    and never reused, so a late record for a closed
 *                    dispatcher cannot reach whatever reopened its slot
 *                    (a slot accepts only sequences reserved after it opened)
 *   - hb_on_completion / hb_on_event run on HCS's threads. They never touch
 *     Python: they fetch the result, convert UTF-16 to UTF-8, push a record on
 *     the dispatcher's queue under its mutex and, if the queue was "armed",
 *     write one wake-up byte. A burst of N completions costs one wake.
 *   - Python drains the whole batch with one hb_dispatcher_drain() call,
 *     which re-arms the wake-up first so no record can be missed.
 *   - A record whose dispatcher is gone (slot closed, or reopened since) is
 *     an orphan: the trampoline frees its document, closes its std handles
 *     and closes its operation, so nothing leaks after a loop ends.
 */
#ifndef HCSAIO_BRIDGE_H
#define HCSAIO_BRIDGE_H
#include <stddef.h>
#include <stdint.h>
#include "hcs_defs.h"

#define HB_MAX_LIBRARIES 255
#define HB_MAX_DISPATCHERS 4095
/* Token bits below the slot: the sequence (see above). */
#define HB_TOKEN_SEQ_BITS 44

/* hb_library_open flags */
#define HB_LOAD_SEARCH_SYSTEM32 1

/* hb_record.kind */
#define HB_RECORD_COMPLETION 1
#define HB_RECORD_EVENT 2

/* wake-up strategies for hb_dispatcher_open */
#define HB_WAKE_NONE 0
#define HB_WAKE_EVENTFD 1
#define HB_WAKE_SOCKET 2

typedef struct hb_record {
    uint64_t token;       /* the context given to HCS */
    uint32_t kind;        /* HB_RECORD_COMPLETION or HB_RECORD_EVENT */
    int32_t status;       /* completion: the operation's HRESULT; event: HCS_EVENT_TYPE */
    char *doc;            /* UTF-8 JSON or NULL; owned by the consumer, release with hb_free */
    size_t doc_len;       /* bytes in doc, without the terminating NUL */
    HCS_OPERATION operation;               /* completion: the operation; event: event->Operation */
    HCS_PROCESS_INFORMATION process_info;  /* valid when has_process_info */
    int32_t has_process_info;
    int32_t reserved;
} hb_record;

typedef struct hb_stats {
    uint64_t pushed;      /* records queued for this dispatcher since it opened */
    uint64_t wakes;       /* wake-up writes issued */
    uint64_t drained;     /* records handed to the consumer */
    uint64_t drains;      /* hb_dispatcher_drain calls that returned records */
    uint64_t high_water;  /* longest queue seen */
} hb_stats;

/* Process-wide counters, for leak checks in tests. */
typedef struct hb_global_stats {
    uint64_t orphaned;        /* records disposed of because their dispatcher was gone */
    int64_t docs_outstanding; /* UTF-8 documents allocated and not yet freed */
    int64_t dispatchers_open;
} hb_global_stats;

/* ---- library loading ---- */
/* Open a library by path and resolve every export of hcs_exports.h from it.
 * Returns an index >= 1, or a failure HRESULT (< 0) with a message in err. */
int32_t hb_library_open(const char *path_utf8, int32_t flags, char *err, size_t errlen);
int32_t hb_export_count(void);
const char *hb_export_name(int32_t i);
/* 1 if export i resolved in library lib, 0 if not, E_HANDLE-style negative on a bad index. */
int32_t hb_library_has_export(int32_t lib, int32_t i);
/* Free a string returned by the library through a PWSTR* out-parameter. */
void hb_library_free_string(int32_t lib, void *str);

/* ---- strings ---- */
/* UTF-16 (NUL-terminated) to freshly allocated UTF-8; *len_out gets the byte
 * count. Unpaired surrogates become U+FFFD. NULL on allocation failure. */
char *hb_utf16_to_utf8(const char16_t *s, size_t *len_out);
void hb_free(void *p);

/* ---- dispatchers ---- */
/* Returns a slot >= 1 and the token base (the slot bits), or -1 when all
 * slots are in use. wake_handle: fd (eventfd or socket) or SOCKET. The
 * slot accepts tokens whose sequences are reserved from now on. */
int32_t hb_dispatcher_open(int32_t wake_kind, intptr_t wake_handle, uint64_t *token_base);
/* Reserve `count` consecutive token sequences, used by nobody else in the
 * process, ever. Returns the first, or 0 once the 2^44 sequences are used
 * up (at a million operations a second, after half a year). */
uint64_t hb_sequence_reserve(uint64_t count);
/* Reject further records; dispose of queued ones as orphans. */
void hb_dispatcher_close(int32_t slot);
/* Take every queued record. *records stays valid until the next drain or close. */
size_t hb_dispatcher_drain(int32_t slot, hb_record **records);
/* How many records of the batch last drained carry a document or process
 * information: when none do (the common case), the consumer reads only the
 * token, kind, status and operation of each record. */
size_t hb_dispatcher_payloads(int32_t slot);
void hb_dispatcher_stats(int32_t slot, hb_stats *out);
void hb_global_stats_get(hb_global_stats *out);

/* HcsCreateOperation(token, hb_on_completion) of library lib: the one call
 * every asynchronous operation starts with, without marshalling a pointer
 * and a callback from Python. NULL if the export is missing or HCS is out
 * of memory. */
HCS_OPERATION hb_operation_create(int32_t lib, uint64_t token);

/* ---- trampolines handed to HCS (never take the GIL) ---- */
void hb_on_completion(HCS_OPERATION operation, void *context);
void hb_on_event(HCS_EVENT *event, void *context);

#endif /* HCSAIO_BRIDGE_H */
