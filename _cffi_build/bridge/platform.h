/*
 * platform.h - the few OS services the bridge needs, behind an interface
 * that does not drag <windows.h> into translation units that include
 * hcs_defs.h (whose Win32 base types would clash with the SDK's).
 */
#ifndef HCSAIO_PLATFORM_H
#define HCSAIO_PLATFORM_H
#include <stddef.h>
#include <stdint.h>

/* Opaque storage large enough for pthread_mutex_t and SRWLOCK. */
typedef struct hb_mutex {
    union {
        void *align;
        unsigned char bytes[64];
    } u;
} hb_mutex;

void hb_mutex_init(hb_mutex *m);
void hb_mutex_destroy(hb_mutex *m);
void hb_mutex_lock(hb_mutex *m);
void hb_mutex_unlock(hb_mutex *m);

/* One-time initialisation (thread-safe). */
typedef void (*hb_once_fn)(void);
void hb_run_once(hb_once_fn fn);

/* Condition variable (pthread_cond_t, CONDITION_VARIABLE) used with hb_mutex. */
typedef struct hb_cond {
    union {
        void *align;
        unsigned char bytes[64];
    } u;
} hb_cond;

void hb_cond_init(hb_cond *c);
void hb_cond_wait(hb_cond *c, hb_mutex *m);
void hb_cond_signal(hb_cond *c);

/* A once flag of its own for each user (zero-initialised static storage
 * means "not run yet" on both platforms). */
typedef struct hb_once {
    union {
        void *align;
        unsigned char bytes[16];
    } u;
} hb_once;

void hb_call_once(hb_once *once, hb_once_fn fn);

/* Start a detached native thread that blocks every signal (signals are the
 * interpreter's business). 0, or -1 if it could not be started. */
typedef void (*hb_thread_fn)(void *arg);
int hb_thread_start(hb_thread_fn fn, void *arg);

/* Milliseconds on a monotonic clock. */
uint64_t hb_now_ms(void);

/* Write one wake-up token: 8 bytes to an eventfd or 1 byte to a socket.
 * Never blocks; a full socket buffer already means "wake pending". */
void hb_wake(int32_t kind, intptr_t handle);

/* Close a process stdio handle nobody will ever read (fd or HANDLE). */
void hb_close_std_handle(void *handle);

/* Dynamic loading. hb_dl_open returns NULL and fills err on failure. */
void *hb_dl_open(const char *path_utf8, int32_t flags, char *err, size_t errlen);
void *hb_dl_sym(void *lib, const char *name);
/* The platform's LocalFree (Windows) or free() (elsewhere). */
void hb_platform_free_string(void *p);

/* Atomics (sequentially consistent). */
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#define hb_atomic_xchg32(p, v) ((int32_t)_InterlockedExchange((volatile long *)(p), (long)(v)))
#define hb_atomic_store32(p, v) ((void)_InterlockedExchange((volatile long *)(p), (long)(v)))
#define hb_atomic_add64(p, v) ((int64_t)_InterlockedExchangeAdd64((volatile __int64 *)(p), (__int64)(v)))
#else
#define hb_atomic_xchg32(p, v) __atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST)
#define hb_atomic_store32(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define hb_atomic_add64(p, v) __atomic_fetch_add((p), (v), __ATOMIC_SEQ_CST)
#endif

#endif /* HCSAIO_PLATFORM_H */
