/*
 * platform.c - OS services for the bridge: mutexes, once, wake-up writes,
 * handle close, dynamic loading. The only bridge file that includes
 * <windows.h>; it must not include hcs_defs.h.
 */
#include "platform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <winsock2.h>
#include <windows.h>

typedef char hb_check_mutex_size[sizeof(SRWLOCK) <= sizeof(hb_mutex) ? 1 : -1];

void hb_mutex_init(hb_mutex *m) { InitializeSRWLock((SRWLOCK *)m->u.bytes); }
void hb_mutex_destroy(hb_mutex *m) { (void)m; }
void hb_mutex_lock(hb_mutex *m) { AcquireSRWLockExclusive((SRWLOCK *)m->u.bytes); }
void hb_mutex_unlock(hb_mutex *m) { ReleaseSRWLockExclusive((SRWLOCK *)m->u.bytes); }

static INIT_ONCE g_once = INIT_ONCE_STATIC_INIT;

static BOOL CALLBACK hb_once_thunk(PINIT_ONCE once, PVOID param, PVOID *ctx) {
    (void)once;
    (void)ctx;
    ((hb_once_fn)param)();
    return TRUE;
}

void hb_run_once(hb_once_fn fn) { InitOnceExecuteOnce(&g_once, hb_once_thunk, (PVOID)fn, NULL); }

void hb_wake(int32_t kind, intptr_t handle) {
    /* Only the socket strategy exists on Windows (no eventfd). */
    (void)kind;
    static const char one = 1;
    send((SOCKET)handle, &one, 1, 0);
}

void hb_close_std_handle(void *handle) {
    if (handle != NULL && handle != INVALID_HANDLE_VALUE) {
        CloseHandle((HANDLE)handle);
    }
}

void *hb_dl_open(const char *path_utf8, int32_t flags, char *err, size_t errlen) {
    wchar_t wpath[1024];
    if (MultiByteToWideChar(CP_UTF8, 0, path_utf8, -1, wpath, 1024) == 0) {
        snprintf(err, errlen, "library path is not valid UTF-8 or too long");
        return NULL;
    }
    /* System32-only search for the HCS DLLs: never pick up a planted copy
     * from the current directory or PATH. */
    DWORD search = (flags & 1) ? LOAD_LIBRARY_SEARCH_SYSTEM32 : 0;
    HMODULE h = LoadLibraryExW(wpath, NULL, search);
    if (h == NULL) {
        snprintf(err, errlen, "LoadLibraryExW(%s) failed: Win32 error %lu", path_utf8,
                 (unsigned long)GetLastError());
    }
    return (void *)h;
}

void *hb_dl_sym(void *lib, const char *name) { return (void *)GetProcAddress((HMODULE)lib, name); }

void hb_platform_free_string(void *p) { LocalFree((HLOCAL)p); }

typedef char hb_check_cond_size[sizeof(CONDITION_VARIABLE) <= sizeof(hb_cond) ? 1 : -1];
typedef char hb_check_once_size[sizeof(INIT_ONCE) <= sizeof(hb_once) ? 1 : -1];

void hb_cond_init(hb_cond *c) { InitializeConditionVariable((CONDITION_VARIABLE *)c->u.bytes); }
void hb_cond_wait(hb_cond *c, hb_mutex *m) {
    SleepConditionVariableSRW((CONDITION_VARIABLE *)c->u.bytes, (SRWLOCK *)m->u.bytes, INFINITE, 0);
}
void hb_cond_signal(hb_cond *c) { WakeConditionVariable((CONDITION_VARIABLE *)c->u.bytes); }

void hb_call_once(hb_once *once, hb_once_fn fn) {
    InitOnceExecuteOnce((INIT_ONCE *)once->u.bytes, hb_once_thunk, (PVOID)fn, NULL);
}

typedef struct hb_thread_start_args {
    hb_thread_fn fn;
    void *arg;
} hb_thread_start_args;

static DWORD WINAPI hb_thread_thunk(LPVOID param) {
    hb_thread_start_args args = *(hb_thread_start_args *)param;
    free(param);
    args.fn(args.arg);
    return 0;
}

int hb_thread_start(hb_thread_fn fn, void *arg) {
    hb_thread_start_args *args = (hb_thread_start_args *)malloc(sizeof *args);
    if (args == NULL) {
        return -1;
    }
    args->fn = fn;
    args->arg = arg;
    HANDLE h = CreateThread(NULL, 0, hb_thread_thunk, args, 0, NULL);
    if (h == NULL) {
        free(args);
        return -1;
    }
    CloseHandle(h); /* detached: the thread runs for the life of the process */
    return 0;
}

uint64_t hb_now_ms(void) { return (uint64_t)GetTickCount64(); }

#else /* POSIX */
#include <dlfcn.h>
#include <stdlib.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef char hb_check_mutex_size[sizeof(pthread_mutex_t) <= sizeof(hb_mutex) ? 1 : -1];

void hb_mutex_init(hb_mutex *m) { pthread_mutex_init((pthread_mutex_t *)m->u.bytes, NULL); }
void hb_mutex_destroy(hb_mutex *m) { pthread_mutex_destroy((pthread_mutex_t *)m->u.bytes); }
void hb_mutex_lock(hb_mutex *m) { pthread_mutex_lock((pthread_mutex_t *)m->u.bytes); }
void hb_mutex_unlock(hb_mutex *m) { pthread_mutex_unlock((pthread_mutex_t *)m->u.bytes); }

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static hb_once_fn g_once_fn;

static void hb_once_thunk(void) { g_once_fn(); }

void hb_run_once(hb_once_fn fn) {
    /* Only one function is ever run once (the bridge's global init). */
    g_once_fn = fn;
    pthread_once(&g_once, hb_once_thunk);
}

void hb_wake(int32_t kind, intptr_t handle) {
    int fd = (int)handle;
    ssize_t n;
    if (kind == 1) { /* eventfd: add 1 to the counter */
        uint64_t one = 1;
        do {
            n = write(fd, &one, sizeof one);
        } while (n < 0 && errno == EINTR);
    } else { /* socket: one byte; EAGAIN means a wake is already pending */
        static const char one = 1;
        do {
            n = send(fd, &one, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
        } while (n < 0 && errno == EINTR);
    }
}

void hb_close_std_handle(void *handle) {
    intptr_t fd = (intptr_t)handle;
    /* HCS_PROCESS_INFORMATION uses NULL or INVALID_HANDLE_VALUE (-1) for
     * "no pipe"; the emulator returns fds >= 3. */
    if (fd >= 3) {
        close((int)fd);
    }
}

void *hb_dl_open(const char *path_utf8, int32_t flags, char *err, size_t errlen) {
    (void)flags;
    void *h = dlopen(path_utf8, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        const char *why = dlerror();
        snprintf(err, errlen, "%s", why ? why : "dlopen failed");
    }
    return h;
}

void *hb_dl_sym(void *lib, const char *name) { return dlsym(lib, name); }

void hb_platform_free_string(void *p) { free(p); }

typedef char hb_check_cond_size[sizeof(pthread_cond_t) <= sizeof(hb_cond) ? 1 : -1];
typedef char hb_check_once_size[sizeof(pthread_once_t) <= sizeof(hb_once) ? 1 : -1];

void hb_cond_init(hb_cond *c) { pthread_cond_init((pthread_cond_t *)c->u.bytes, NULL); }
void hb_cond_wait(hb_cond *c, hb_mutex *m) {
    pthread_cond_wait((pthread_cond_t *)c->u.bytes, (pthread_mutex_t *)m->u.bytes);
}
void hb_cond_signal(hb_cond *c) { pthread_cond_signal((pthread_cond_t *)c->u.bytes); }

/* PTHREAD_ONCE_INIT is 0 on glibc and musl, the platforms this branch serves. */
void hb_call_once(hb_once *once, hb_once_fn fn) { pthread_once((pthread_once_t *)once->u.bytes, fn); }

typedef struct hb_thread_start_args {
    hb_thread_fn fn;
    void *arg;
} hb_thread_start_args;

static void *hb_thread_thunk(void *param) {
    hb_thread_start_args args = *(hb_thread_start_args *)param;
    free(param);
    args.fn(args.arg);
    return NULL;
}

int hb_thread_start(hb_thread_fn fn, void *arg) {
    hb_thread_start_args *args = (hb_thread_start_args *)malloc(sizeof *args);
    if (args == NULL) {
        return -1;
    }
    args->fn = fn;
    args->arg = arg;
    sigset_t all, previous;
    sigfillset(&all);
    /* The new thread inherits the mask: it never runs a signal handler. */
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t tid;
    int rc = pthread_create(&tid, &attr, hb_thread_thunk, args);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    if (rc != 0) {
        free(args);
        return -1;
    }
    return 0;
}

uint64_t hb_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
#endif
