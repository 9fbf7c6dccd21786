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
/* For a library that connects to a service of its own (libhcsemu's
 * HcsEmuConnected): 1 if connected now, 0 if its next call would have to
 * connect; -1 for a library without such a notion (computecore.dll). */
int32_t hb_library_connected(int32_t lib);

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

/* ---- synchronous exports on the bridge's worker threads ----
 *
 * Exports that block (HcsOpen*, the service calls, and every HCN, storage
 * and vmcompute call) never run on an event loop's thread. Python submits
 * (export, arguments, token); one of a small, fixed pool of native workers
 * makes the call without the GIL, converts the returned strings to UTF-8,
 * keeps the returned handles, and pushes a completion record {token,
 * HB_RECORD_COMPLETION, HRESULT} onto the token's dispatcher, exactly as an
 * HCS operation's completion arrives. Python then takes the results with
 * hb_sync_take.
 *
 * A call cannot be stopped. A caller that stops waiting (timeout, cancel,
 * loop gone) releases the call: a call still queued is never made, a call
 * running is finished by its worker, which then disposes of the results
 * (strings freed, handles closed with their HcsClose* export, pipes closed).
 */
#define HB_SYNC_MAX_ARGS 8
#define HB_SYNC_MAX_OUTS 4
#define HB_SYNC_DEFAULT_WORKERS 4
#define HB_SYNC_MAX_WORKERS 64
/* timeout_ms for "no deadline" (the library's own bounded default applies) */
#define HB_SYNC_NO_TIMEOUT 0xFFFFFFFF

typedef struct hb_sync_call hb_sync_call; /* opaque */

/* One in-parameter: `text` for a string ("s", copied at submit, NULL for
 * NULL), `value` for an integer ("i") or a pointer/handle ("p"). */
typedef struct hb_sync_arg {
    uint64_t value;
    const char16_t *text;
} hb_sync_arg;

/* One out-parameter, by the kind hb_sync_describe reports. */
typedef struct hb_sync_value {
    void *handle;       /* "h": the returned handle, NULL if none */
    char *text;         /* "t": UTF-8 (owned by the taker, release with hb_free), NULL if none */
    size_t text_len;    /* bytes in text, without the NUL */
    HCS_PROCESS_INFORMATION info; /* "P": pid and std handles (owned by the taker) */
} hb_sync_value;

typedef struct hb_sync_result {
    int32_t hresult;
    int32_t count;              /* out-parameters filled */
    hb_sync_value outs[4];      /* HB_SYNC_MAX_OUTS */
} hb_sync_result;

typedef struct hb_sync_stats {
    int64_t workers;        /* threads in the pool (fixed once started) */
    int64_t busy;           /* workers inside a call now */
    int64_t busy_high_water;
    int64_t queued;         /* calls waiting for a worker */
    int64_t outstanding;    /* calls allocated and not yet freed */
    uint64_t submitted;
    uint64_t completed;     /* calls made to the end */
    uint64_t skipped;       /* released before a worker took them: never made */
    uint64_t disposed;      /* finished calls whose results nobody took */
    uint64_t handles_closed;/* returned handles closed by the bridge */
    uint64_t texts_freed;   /* returned strings freed by the bridge */
} hb_sync_stats;

/* Start the pool once with `workers` threads (clamped to 1..HB_SYNC_MAX_WORKERS);
 * later calls change nothing. Returns the pool's size, or -1 if no thread
 * could be started. */
int32_t hb_sync_start(int32_t workers);
/* Whether export i can run on the workers (1) or not (0; < 0 for a bad
 * index), with its parameter kinds: ins one letter per in-parameter (s i p),
 * outs one per out-parameter (t text, h handle, P process information),
 * out_types the C type of each out, comma-separated. */
int32_t hb_sync_describe(int32_t export_index, const char **ins, const char **outs,
                         const char **out_types);
/* Queue export_index of library lib with nargs in-arguments. The completion
 * goes to token's dispatcher. timeout_ms bounds the call (a worker that
 * picks it up after the deadline does not make it, and libraries that take
 * a per-thread timeout get the time left); HB_SYNC_NO_TIMEOUT for none.
 * Returns S_OK with *call set, or a failure HRESULT (E_INVALIDARG for a bad
 * argument count or an export that cannot run here, E_PROC_NOT_FOUND for an
 * export the library lacks, E_OUTOFMEMORY) and *call NULL. */
int32_t hb_sync_submit(int32_t lib, int32_t export_index, uint64_t token, const hb_sync_arg *args,
                       int32_t nargs, uint32_t timeout_ms, hb_sync_call **call);
/* Move the results of a finished call (its completion record arrived) into
 * *out; the caller owns them now. 0, or -1 if the call has not finished. */
int32_t hb_sync_take(hb_sync_call *call, hb_sync_result *out);
/* The caller is done with the call (after take, or instead of it): frees it
 * now if it has finished (disposing of results nobody took), otherwise its
 * worker does so when it finishes. Exactly once per submitted call. */
void hb_sync_release(hb_sync_call *call);
void hb_sync_stats_get(hb_sync_stats *out);

#endif /* HCSAIO_BRIDGE_H */
