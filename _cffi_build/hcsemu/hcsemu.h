/*
 * hcsemu.h - libhcsemu internals: the objects behind HCS handles, the
 * connection to the emulator service, the callback pool.
 *
 * Every translation unit of libhcsemu includes this header first. Every
 * function it declares is hidden, except the computecore exports (declared
 * below from their PFN_ types, marked HX_API) and LocalFree/CoTaskMemFree:
 * only those leave the shared object. Non-static functions of the library
 * must therefore be declared here.
 *
 * Concurrency model (see PROTOCOL.md, "libhcsemu"):
 *   - one global mutex, hx_mutex, guards every object field marked
 *     "guarded", the handle registry and the connection tables. It is never
 *     held while a user callback runs or while blocking on the socket;
 *   - one reader thread per connection turns frames into state changes
 *     (operation completed, event arrived) and queues callback work;
 *   - a fixed pool of callback workers runs user callbacks; all work for
 *     one handle goes to the same worker, so a handle sees its events in
 *     order;
 *   - objects are reference counted (under hx_mutex): the registry holds one
 *     reference while the caller's handle is open, pending requests and
 *     queued work hold their own, so closing never frees what a callback or
 *     a blocked wait still uses.
 */
#ifndef HCSEMU_H
#define HCSEMU_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "hcs_defs.h"
#include "hcs_errors.h"
#include "hcs_exports.h"
#include "hcsemu_ext.h"

/* Hidden by default: everything declared from here to the matching pop.
 * System headers stay outside (their functions live in libc). */
#pragma GCC visibility push(hidden)

#define HX_API __attribute__((visibility("default")))

/* The exports, declared from the PFN_ types of hcs_defs.h: a definition
 * whose signature drifts from its PFN_ type is a compile error. */
#define HX_DECLARE_EXPORT(name) extern HX_API __typeof__(*(PFN_##name)0) name;
HB_COMPUTECORE_EXPORTS(HX_DECLARE_EXPORT)
HX_DECLARE_EXPORT(LocalFree)
HX_DECLARE_EXPORT(CoTaskMemFree)
HX_DECLARE_EXPORT(HcsEmuSetCallTimeout)
HX_DECLARE_EXPORT(HcsEmuConnected)
#undef HX_DECLARE_EXPORT

#define HX_INVALID_HANDLE_VALUE ((HANDLE)(intptr_t)-1)
#define HX_DISCONNECTED "The connection to the HCS emulator service was lost."

/* ---- intrusive hash table keyed by a 64-bit value ---- */

typedef struct hx_node {
    uint64_t key;
    struct hx_node *next;
} hx_node;

typedef struct hx_table {
    hx_node **buckets;
    size_t mask; /* bucket count - 1; 0 buckets until the first put */
    size_t count;
} hx_table;

int hx_table_put(hx_table *t, hx_node *n, uint64_t key); /* -1: out of memory */
hx_node *hx_table_get(const hx_table *t, uint64_t key);
hx_node *hx_table_take(hx_table *t, uint64_t key);
int hx_table_remove(hx_table *t, hx_node *n);
void hx_table_each(const hx_table *t, void (*fn)(hx_node *n, void *arg), void *arg);
/* Detach every node into a singly linked list (through ->next). */
hx_node *hx_table_take_all(hx_table *t);
void hx_table_free(hx_table *t);

#define HX_CONTAINER(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

/* ---- objects ---- */

typedef enum hx_kind { HX_SYSTEM = 1, HX_PROCESS = 2, HX_OPERATION = 3 } hx_kind;

typedef struct hx_object {
    hx_kind kind;
    int refs;         /* guarded */
    int registered;   /* guarded: reachable from the caller's handle value */
    hx_node reg_node; /* registry entry, keyed by the object's address */
} hx_object;

struct hx_conn;

/* HCS_SYSTEM and HCS_PROCESS */
typedef struct hx_handle {
    hx_object base;
    uint64_t wire_id;           /* the service's name for this handle */
    struct hx_conn *conn;       /* counted reference */
    struct hx_handle *system;   /* processes: the system handle used to get it (counted) */
    uint32_t pid;               /* guarded; processes */
    HCS_EVENT_CALLBACK callback; /* guarded */
    void *callback_context;
    HCS_EVENT_OPTIONS callback_options;
    int closed;                 /* guarded */
    int running;                /* guarded: callbacks of this handle running now */
    char16_t *exit_doc;         /* guarded: the SystemExited/ProcessExited data, once seen */
    HCS_EVENT_TYPE exit_unheard; /* guarded: that exit came before any callback (0: no) */
    pthread_cond_t drained;
    hx_node conn_node;          /* conn->handles entry, keyed by wire_id */
} hx_handle;

enum { HX_OP_IDLE = 0, HX_OP_PENDING = 1, HX_OP_DONE = 2 };

/* A queued callback for the pool. */
typedef enum hx_work_kind { HX_WORK_COMPLETION = 1, HX_WORK_EVENT, HX_WORK_NOTIFY } hx_work_kind;

typedef struct hx_work {
    struct hx_work *next;
    hx_work_kind kind;
    int embedded;           /* lives inside its op (completions never need malloc) */
    struct hx_op *op;       /* counted */
    struct hx_handle *handle; /* counted; events */
    HCS_EVENT_TYPE type;
    char16_t *data;         /* owned */
} hx_work;

/* HCS_OPERATION, and the internal requests of the synchronous calls */
typedef struct hx_op {
    hx_object base;
    uint64_t id;                  /* HcsGetOperationId, and the wire request id */
    void *context;                /* guarded */
    HCS_OPERATION_COMPLETION completion; /* guarded */
    HCS_EVENT_CALLBACK notify;    /* HcsCreateOperationWithNotifications */
    int32_t type;                 /* guarded; HcsOperationTypeNone until started */
    int state;                    /* guarded; HX_OP_* */
    int closed;                   /* guarded: HcsCloseOperation was called */
    int as_event;                 /* deliver as HcsEventOperationCallback to target */
    int sent;                     /* guarded: the request frame went out */
    int cancel_requested;         /* guarded: cancel asked before it was sent */
    HRESULT result;               /* guarded; valid when DONE */
    char16_t *doc;                /* guarded; result document (owned) */
    uint32_t pid;                 /* guarded; process replies */
    int fds[3];                   /* guarded; stdio of CreateProcess until taken, else -1 */
    hx_handle *target;            /* the handle the call was made on (counted) */
    hx_handle *route;             /* whose callback worker delivers (counted) */
    struct hx_conn *conn;         /* while pending (counted) */
    pthread_cond_t done;
    hx_node pending_node;         /* conn->pending entry, keyed by id */
    hx_work completion_work;      /* the one completion delivery, preallocated */
} hx_op;

extern pthread_mutex_t hx_mutex;
void hx_lock(void);
void hx_unlock(void);

/* Registry of live handle values. All under hx_mutex. */
int hx_register(hx_object *o); /* -1: out of memory */
int hx_unregister(hx_object *o);
/* The object behind a caller's handle value, referenced, or NULL. */
hx_object *hx_lookup(const void *value, hx_kind kind);
void hx_ref(hx_object *o);
void hx_unref(hx_object *o); /* may free: call with hx_mutex held */
/* Visit every registered object (fork child only). */
void hx_registry_each(void (*fn)(hx_object *o));

hx_op *hx_op_new(void);
hx_handle *hx_handle_new(hx_kind kind, struct hx_conn *conn);
void hx_cond_init(pthread_cond_t *c);
/* Wait on c (hx_mutex held) until *value == wanted or timeout_ms passes
 * (HCS_INFINITE waits forever). Returns 0 once it holds, -1 on timeout. */
int hx_cond_wait_ms(pthread_cond_t *c, const int *value, int wanted, DWORD timeout_ms);

/* ---- strings ---- */
char *hx_utf16_to_utf8(const char16_t *s, size_t *len_out); /* NULL s -> "" */
char16_t *hx_utf8_to_utf16(const char *s, size_t len);
char16_t *hx_dup16(const char16_t *s);
/* A ResultError document for a failure detected in the library. */
char16_t *hx_result_error(HRESULT hr, const char *message);

/* ---- wire ---- */
#include "wire.h"

/* ---- connection ---- */
typedef struct hx_conn {
    int refs;                /* guarded */
    int fd;
    char *path;              /* the socket it was opened on */
    int dead;                /* guarded */
    uint64_t next_handle_id; /* guarded */
    pthread_mutex_t write_lock;
    hx_table pending;        /* op id -> hx_op (each holds a reference) */
    hx_table handles;        /* wire id -> hx_handle (open handles, no reference) */
} hx_conn;

/* ---- deadlines of the synchronous calls ----
 * Nothing in libhcsemu waits forever for the service: the synchronous
 * calls (HcsOpen*, the service calls) and every connect and handshake are
 * bounded by the calling thread's timeout (HcsEmuSetCallTimeout, which the
 * bridge's workers set from their caller's deadline) or, without one, by
 * HX_SYNC_TIMEOUT_DEFAULT_MS. */
#define HX_SYNC_TIMEOUT_DEFAULT_MS 30000u
uint64_t hx_now_ms(void); /* monotonic */
/* The deadline of a synchronous call starting now on this thread. */
uint64_t hx_sync_deadline(void);
/* Milliseconds left until deadline; 0 once it has passed. */
DWORD hx_ms_until(uint64_t deadline);

/* The shared connection, connecting (or reconnecting) if needed, giving up
 * at deadline (HCS_E_OPERATION_TIMEOUT; HCS_E_SERVICE_NOT_AVAILABLE if
 * nothing listens). hx_conn_acquire uses this thread's hx_sync_deadline(). */
HRESULT hx_conn_acquire_until(hx_conn **out, uint64_t deadline);
HRESULT hx_conn_acquire(hx_conn **out);
void hx_conn_unref(hx_conn *c); /* hx_mutex held */
/* Send a frame; the caller must not hold hx_mutex. */
HRESULT hx_conn_send(hx_conn *c, const hx_frame *f);
/* Mark op pending on conn, send its request, and handle a send failure.
 * Returns S_OK once the request is on its way (or has already failed
 * through a disconnect, which completes it asynchronously). */
HRESULT hx_request_start(hx_conn *c, hx_op *op, hx_frame *f);
/* Send f with no reply expected (CLOSE_HANDLE); ignores a dead connection. */
void hx_conn_notify(hx_conn *c, hx_frame *f);
/* Send f and wait up to timeout_ms for its reply: the reply's HRESULT, and
 * its document copied to *result if result is not NULL (a synchronous call;
 * HCS_E_OPERATION_TIMEOUT if no reply came in time). */
HRESULT hx_call_sync(hx_conn *c, hx_frame *f, DWORD timeout_ms, PWSTR *result);
void hx_op_release(hx_op *op);
/* HcsCancelOperation's wire part: ask the service to stop op's request. */
HRESULT hx_request_cancel(hx_op *op);


/* Queue work (hx_mutex held); ownership of w and its references passes. */
void hx_pool_submit(uint64_t key, hx_work *w);
int hx_pool_start(void); /* 0, or -1 if no worker could be started */
/* A detached library thread that takes no signals; 0 or an errno. */
int hx_start_thread(void *(*fn)(void *), void *arg);
/* Queue what a completed op owes its caller (hx_mutex held). */
void hx_deliver_completion(hx_op *op);
/* Queue an event for handle h (hx_mutex held); takes ownership of data. */
void hx_deliver_event(hx_handle *h, HCS_EVENT_TYPE type, char16_t *data);
/* The handle whose event callback runs on this thread, if any. */
hx_handle *hx_current_callback_handle(void);
void hx_pool_fork_prepare(void);
void hx_pool_fork_parent(void);
void hx_pool_fork_child(void);

/* ---- shared pieces of the API ---- */

/* Validate and reserve op for one call of type `type` on `target`. On
 * success op is referenced and PENDING. */
HRESULT hx_op_begin(HCS_OPERATION operation, int32_t type, hx_handle *target, hx_op **out);
/* A call that failed after hx_op_begin: record the failure (the caller may
 * fetch it with HcsGetOperationResult), fire no callback, drop the
 * reference. Returns hr. */
HRESULT hx_op_fail(hx_op *op, HRESULT hr, const char *message);
/* hx_op_begin for a call on the handle `value`: on success both the handle
 * and the op are referenced; on failure both are released (the op holding
 * the failure if it was valid). */
HRESULT hx_op_begin_on(const void *value, hx_kind kind, HCS_OPERATION operation, int32_t type,
                       hx_handle **handle, hx_op **op);
/* Make a new handle reachable by its value and (for events) its wire id, or
 * undo it; hx_mutex held. publish: 0, or -1 out of memory (nothing done). */
int hx_handle_publish(hx_handle *h);
void hx_handle_unpublish(hx_handle *h);
/* The shared tail of HcsCreateComputeSystem/HcsCreateProcess: publish the
 * new handle h, route op to it, send f (whose field copies `keep` are freed)
 * and on any failure withdraw h and fail op with `failure` (bad: setting
 * f's fields failed). Returns S_OK, with h's reference now the caller's, or
 * the failure. */
HRESULT hx_create_start(hx_handle *h, hx_op *op, hx_frame *f, char **keep, int bad,
                        const char *failure);
/* Validate a system/process handle value, referenced. */
HRESULT hx_handle_get(const void *value, hx_kind kind, hx_handle **out);
void hx_handle_release(hx_handle *h);
/* Close a system or process handle (HcsClose*). */
void hx_handle_close(const void *value, hx_kind kind);
/* Register an event callback on a handle (HcsSet*Callback). */
HRESULT hx_handle_set_callback(const void *value, hx_kind kind, HCS_EVENT_OPTIONS options,
                               const void *context, HCS_EVENT_CALLBACK callback);
/* An operation on a system or process handle: one SYSTEM_OP/PROCESS_OP frame. */
HRESULT hx_handle_call(const void *value, hx_kind kind, HCS_OPERATION operation, int32_t type,
                       PCWSTR options);
/* HcsWaitFor*Exit. */
HRESULT hx_handle_wait_exit(const void *value, hx_kind kind, DWORD timeout_ms, PWSTR *result);

/* Copy a document out to the caller (NULL-safe); E_OUTOFMEMORY on failure. */
HRESULT hx_give_doc(const char16_t *doc, PWSTR *out);

void hx_after_fork_child(void);

#pragma GCC visibility pop

#endif /* HCSEMU_H */
