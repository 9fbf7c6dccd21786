/*
 * dispatcher.c - per-event-loop record queues and the HCS trampolines.
 *
 * Threads: producers are HCS's threads (or the emulator's callback pool),
 * the consumer is the one thread running the owning event loop. Each slot
 * has one mutex guarding its queue; the trampolines hold it only to append
 * one record. The wake-up is edge-triggered by an armed flag: the consumer
 * arms it before taking the queue, the first producer to push afterwards
 * disarms it and writes the wake-up, later producers in the same batch
 * write nothing.
 *
 * Why the re-arm happens before the take: a producer that pushes after the
 * take sees armed == 1 and wakes the loop; a producer that pushed before the
 * take had its record taken. Either way nothing waits unseen.
 */
#include <stdlib.h>
#include <string.h>

#include "bridge_internal.h"
#include "hb_utf16.h"
#include "platform.h"

typedef struct hb_queue {
    hb_record *items;
    size_t count;
    size_t capacity;
} hb_queue;

typedef struct hb_slot {
    hb_mutex lock;
    int32_t open;          /* guarded by lock */
    /* The token sequence counter when the slot last opened (guarded by
     * lock): the slot accepts only sequences at or above it. Every sequence
     * a previous opening used was reserved before that opening closed, so
     * it lies below, however often the slot was reopened since. */
    uint64_t first_sequence;
    int32_t armed;         /* atomic */
    int32_t wake_kind;
    intptr_t wake_handle;
    hb_queue producer;     /* guarded by lock */
    hb_queue consumer;     /* owned by the consumer between drains */
    size_t producer_payloads; /* records in producer with a document or process info; guarded by lock */
    size_t consumer_payloads; /* the same for the batch the consumer holds */
    hb_stats stats;        /* pushed/wakes/high_water guarded by lock; the rest consumer-owned */
} hb_slot;

static hb_slot g_slots[HB_MAX_DISPATCHERS + 1]; /* slot 0 unused: tokens never carry 0 */
static hb_mutex g_slots_lock;                   /* guards open/close, not the queues */
static int64_t g_orphaned;
static int64_t g_docs_outstanding;
static int64_t g_dispatchers_open;
/* The next token sequence hb_sequence_reserve hands out: process-wide and
 * only ever increasing, so no sequence is used twice in the process. */
static int64_t g_next_sequence = 1;

void hb_loader_init_once(void);

static void hb_bridge_init(void) {
    hb_mutex_init(&g_slots_lock);
    for (int32_t i = 0; i <= HB_MAX_DISPATCHERS; i++) {
        hb_mutex_init(&g_slots[i].lock);
    }
    hb_loader_init_once();
}

/* Every public entry point that can run first calls this. */
static void hb_ensure_init(void) { hb_run_once(hb_bridge_init); }

/* ---- strings ---- */

char *hb_utf16_to_utf8(const char16_t *s, size_t *len_out) {
    char *out = hb_utf16_to_utf8_n(s, hb_utf16_units(s), len_out);
    if (out != NULL) {
        hb_atomic_add64(&g_docs_outstanding, 1); /* hb_free takes it back */
    }
    return out;
}

void hb_free(void *p) {
    if (p != NULL) {
        hb_atomic_add64(&g_docs_outstanding, -1);
        free(p);
    }
}

/* ---- records ---- */

/* Nobody will consume this record: release everything it owns. The
 * operation is closed here because no Python object will ever do it; HCS
 * documents closing an operation from inside its completion callback. */
static void hb_dispose_orphan(int32_t lib, hb_record *rec) {
    hb_atomic_add64(&g_orphaned, 1);
    hb_free(rec->doc);
    rec->doc = NULL;
    if (rec->has_process_info) {
        hb_close_std_handle(rec->process_info.StdInput);
        hb_close_std_handle(rec->process_info.StdOutput);
        hb_close_std_handle(rec->process_info.StdError);
    }
    if (rec->kind == HB_RECORD_COMPLETION && rec->operation != NULL) {
        const hb_computecore *api = hb_library_api(lib);
        if (api != NULL && api->HcsCloseOperation != NULL) {
            api->HcsCloseOperation(rec->operation);
        }
    }
}

static int hb_queue_push(hb_queue *q, const hb_record *rec) {
    if (q->count == q->capacity) {
        size_t cap = q->capacity ? q->capacity * 2 : 64;
        hb_record *items = (hb_record *)realloc(q->items, cap * sizeof *items);
        if (items == NULL) {
            return -1;
        }
        q->items = items;
        q->capacity = cap;
    }
    q->items[q->count++] = *rec;
    return 0;
}

static void hb_push(uint64_t token, hb_record *rec) {
    int32_t slot_index = HB_TOKEN_SLOT(token);
    int32_t lib = HB_TOKEN_LIB(token);
    if (slot_index < 1 || slot_index > HB_MAX_DISPATCHERS) {
        hb_dispose_orphan(lib, rec);
        return;
    }
    hb_slot *slot = &g_slots[slot_index];
    int accepted = 0;
    hb_mutex_lock(&slot->lock);
    if (slot->open && HB_TOKEN_SEQ(token) >= slot->first_sequence) {
        accepted = hb_queue_push(&slot->producer, rec) == 0;
        if (accepted) {
            slot->stats.pushed++;
            slot->producer_payloads += rec->doc != NULL || rec->has_process_info;
            if (slot->producer.count > slot->stats.high_water) {
                slot->stats.high_water = slot->producer.count;
            }
        }
    }
    int32_t wake_kind = slot->wake_kind;
    intptr_t wake_handle = slot->wake_handle;
    int wake = accepted && wake_kind != HB_WAKE_NONE && hb_atomic_xchg32(&slot->armed, 0) == 1;
    if (wake) {
        slot->stats.wakes++;
        /* Written under the lock so hb_dispatcher_close cannot let Python
         * close the wake fd between our check and the write. */
        hb_wake(wake_kind, wake_handle);
    }
    hb_mutex_unlock(&slot->lock);
    if (!accepted) {
        hb_dispose_orphan(lib, rec);
    }
}

void hb_dispatcher_push_completion(uint64_t token, int32_t status) {
    hb_record rec;
    memset(&rec, 0, sizeof rec);
    rec.token = token;
    rec.kind = HB_RECORD_COMPLETION;
    rec.status = status;
    hb_push(token, &rec);
}

/* ---- trampolines ---- */

void hb_on_completion(HCS_OPERATION operation, void *context) {
    uint64_t token = (uint64_t)(uintptr_t)context;
    int32_t lib = HB_TOKEN_LIB(token);
    hb_record rec;
    memset(&rec, 0, sizeof rec);
    rec.token = token;
    rec.kind = HB_RECORD_COMPLETION;
    rec.operation = operation;
    const hb_computecore *api = hb_library_api(lib);
    if (api == NULL) {
        return; /* not our token: nothing we can safely touch */
    }
    PWSTR doc = NULL;
    HCS_OPERATION_TYPE type =
        api->HcsGetOperationType ? api->HcsGetOperationType(operation) : HcsOperationTypeNone;
    HRESULT hr;
    if ((type == HcsOperationTypeCreateProcess || type == HcsOperationTypeGetProcessInfo) &&
        api->HcsGetOperationResultAndProcessInfo != NULL) {
        hr = api->HcsGetOperationResultAndProcessInfo(operation, &rec.process_info, &doc);
        rec.has_process_info = hr >= 0;
    } else if (api->HcsGetOperationResult != NULL) {
        hr = api->HcsGetOperationResult(operation, &doc);
    } else {
        hr = E_PROC_NOT_FOUND_HR;
    }
    rec.status = hr;
    if (doc != NULL) {
        rec.doc = hb_utf16_to_utf8(doc, &rec.doc_len);
        if (rec.doc == NULL && hr >= 0) {
            rec.status = HCS_E_OPERATION_RESULT_ALLOCATION_FAILED_HR;
        }
        hb_library_free_string(lib, doc);
    }
    hb_push(token, &rec);
}

HCS_OPERATION hb_operation_create(int32_t lib, uint64_t token) {
    const hb_computecore *api = hb_library_api(lib);
    if (api == NULL || api->HcsCreateOperation == NULL) {
        return NULL;
    }
    return api->HcsCreateOperation((const void *)(uintptr_t)token, hb_on_completion);
}

void hb_on_event(HCS_EVENT *event, void *context) {
    uint64_t token = (uint64_t)(uintptr_t)context;
    int32_t lib = HB_TOKEN_LIB(token);
    const hb_computecore *api = hb_library_api(lib);
    if (api == NULL || event == NULL) {
        return;
    }
    if (event->Type == HcsEventOperationCallback && event->Operation != NULL &&
        api->HcsGetOperationContext != NULL) {
        /* The handle asked for HcsEventOptionEnableOperationCallbacks: the
         * completion of an operation issued on it arrives here instead of
         * through the operation's own callback. Route it to the
         * operation's token exactly as hb_on_completion would. */
        void *op_context = api->HcsGetOperationContext(event->Operation);
        if (op_context != NULL) {
            hb_on_completion(event->Operation, op_context);
            return;
        }
    }
    hb_record rec;
    memset(&rec, 0, sizeof rec);
    rec.token = token;
    rec.kind = HB_RECORD_EVENT;
    rec.status = event->Type;
    rec.operation = event->Operation;
    if (event->EventData != NULL) {
        rec.doc = hb_utf16_to_utf8(event->EventData, &rec.doc_len);
    }
    hb_push(token, &rec);
}

/* ---- dispatcher lifecycle ---- */

int32_t hb_dispatcher_open(int32_t wake_kind, intptr_t wake_handle, uint64_t *token_base) {
    hb_ensure_init();
    hb_mutex_lock(&g_slots_lock);
    int32_t found = -1;
    for (int32_t i = 1; i <= HB_MAX_DISPATCHERS; i++) {
        hb_slot *s = &g_slots[i];
        hb_mutex_lock(&s->lock);
        if (!s->open) {
            s->open = 1;
            s->first_sequence = (uint64_t)hb_atomic_add64(&g_next_sequence, 0);
            s->wake_kind = wake_kind;
            s->wake_handle = wake_handle;
            s->armed = 1;
            s->producer.count = 0;
            s->consumer.count = 0;
            s->producer_payloads = s->consumer_payloads = 0;
            memset(&s->stats, 0, sizeof s->stats);
            *token_base = (uint64_t)i << HB_TOKEN_SEQ_BITS;
            found = i;
        }
        hb_mutex_unlock(&s->lock);
        if (found > 0) {
            break;
        }
    }
    hb_mutex_unlock(&g_slots_lock);
    if (found > 0) {
        hb_atomic_add64(&g_dispatchers_open, 1);
    }
    return found;
}

uint64_t hb_sequence_reserve(uint64_t count) {
    if (count == 0 || count > HB_SEQUENCE_LIMIT) {
        return 0;
    }
    /* Past the limit the counter only keeps growing (2^63 is out of reach),
     * so every later reservation fails too: sequences never wrap around. */
    uint64_t first = (uint64_t)hb_atomic_add64(&g_next_sequence, (int64_t)count);
    return first + count <= HB_SEQUENCE_LIMIT ? first : 0;
}

static hb_slot *hb_slot_get(int32_t slot) {
    return (slot >= 1 && slot <= HB_MAX_DISPATCHERS) ? &g_slots[slot] : NULL;
}

void hb_dispatcher_close(int32_t slot_index) {
    hb_slot *s = hb_slot_get(slot_index);
    if (s == NULL) {
        return;
    }
    hb_mutex_lock(&g_slots_lock);
    hb_mutex_lock(&s->lock);
    int was_open = s->open;
    /* Late completions for this opening's tokens become orphans: rejected
     * while the slot is closed, and below first_sequence once it reopens. */
    s->open = 0;
    hb_queue leftover = s->producer;
    s->producer.items = NULL;
    s->producer.count = s->producer.capacity = 0;
    hb_mutex_unlock(&s->lock);
    hb_mutex_unlock(&g_slots_lock);
    for (size_t i = 0; i < leftover.count; i++) {
        hb_dispose_orphan(HB_TOKEN_LIB(leftover.items[i].token), &leftover.items[i]);
    }
    free(leftover.items);
    /* The consumer buffer holds records Python already took; it owns them. */
    free(s->consumer.items);
    s->consumer.items = NULL;
    s->consumer.count = s->consumer.capacity = 0;
    if (was_open) {
        hb_atomic_add64(&g_dispatchers_open, -1);
    }
}

size_t hb_dispatcher_drain(int32_t slot_index, hb_record **records) {
    hb_slot *s = hb_slot_get(slot_index);
    *records = NULL;
    if (s == NULL) {
        return 0;
    }
    hb_atomic_store32(&s->armed, 1);
    hb_mutex_lock(&s->lock);
    hb_queue taken = s->producer;
    s->consumer.count = 0; /* the previous batch has been consumed */
    s->producer = s->consumer;
    s->consumer = taken;
    s->consumer_payloads = s->producer_payloads;
    s->producer_payloads = 0;
    hb_mutex_unlock(&s->lock);
    if (s->consumer.count) {
        s->stats.drains++;
        s->stats.drained += s->consumer.count;
    }
    *records = s->consumer.items;
    return s->consumer.count;
}

size_t hb_dispatcher_payloads(int32_t slot_index) {
    hb_slot *s = hb_slot_get(slot_index);
    return s != NULL ? s->consumer_payloads : 0;
}

void hb_dispatcher_stats(int32_t slot_index, hb_stats *out) {
    hb_slot *s = hb_slot_get(slot_index);
    memset(out, 0, sizeof *out);
    if (s == NULL) {
        return;
    }
    hb_mutex_lock(&s->lock);
    *out = s->stats;
    hb_mutex_unlock(&s->lock);
}

void hb_global_stats_get(hb_global_stats *out) {
    out->orphaned = (uint64_t)hb_atomic_add64(&g_orphaned, 0);
    out->docs_outstanding = hb_atomic_add64(&g_docs_outstanding, 0);
    out->dispatchers_open = hb_atomic_add64(&g_dispatchers_open, 0);
}
