/*
 * wine_os.c - bridge_test_os.h for Windows: the Winsock, pipe and file
 * helpers tests/native/bridge_test.c needs when it runs under Wine (see
 * bridge_test_os.h for why they live apart; posix_os.c is the Linux side).
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>

#include <string.h>

#include "bridge_test_os.h"

int wt_init(void) {
    WSADATA data;
    return WSAStartup(MAKEWORD(2, 2), &data) == 0 ? 0 : -1;
}

static int set_nonblocking(SOCKET s) {
    u_long on = 1;
    return ioctlsocket(s, FIONBIO, &on) == 0 ? 0 : -1;
}

int wt_socketpair(intptr_t *reader, intptr_t *writer, int nodelay) {
    SOCKET listener = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    SOCKET a = INVALID_SOCKET, b = INVALID_SOCKET;
    struct sockaddr_in addr;
    int len = sizeof addr;
    if (listener == INVALID_SOCKET) return -1;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(listener, 1) != 0 ||
        getsockname(listener, (struct sockaddr *)&addr, &len) != 0) {
        goto fail;
    }
    a = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (a == INVALID_SOCKET || connect(a, (struct sockaddr *)&addr, sizeof addr) != 0) goto fail;
    b = accept(listener, NULL, NULL);
    if (b == INVALID_SOCKET) goto fail;
    closesocket(listener);
    if (nodelay) {
        BOOL on = TRUE;
        setsockopt(a, IPPROTO_TCP, TCP_NODELAY, (const char *)&on, sizeof on);
    }
    /* Both non-blocking: the bridge's wake-up send() must never block an
     * HCS thread; a full buffer already means a wake-up is pending. */
    if (set_nonblocking(a) != 0 || set_nonblocking(b) != 0) goto fail;
    *writer = (intptr_t)a;
    *reader = (intptr_t)b;
    return 0;
fail:
    if (a != INVALID_SOCKET) closesocket(a);
    if (b != INVALID_SOCKET) closesocket(b);
    closesocket(listener);
    return -1;
}

int wt_wait_readable(intptr_t sock, int timeout_ms) {
    fd_set set;
    struct timeval tv;
    FD_ZERO(&set);
    FD_SET((SOCKET)sock, &set);
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    int n = select(0, &set, NULL, NULL, &tv);
    return n < 0 ? -1 : n > 0;
}

long wt_drain_socket(intptr_t sock) {
    char buf[4096];
    long total = 0;
    for (;;) {
        int n = recv((SOCKET)sock, buf, sizeof buf, 0);
        if (n <= 0) return total; /* WSAEWOULDBLOCK: nothing more now */
        total += n;
    }
}

void wt_close_socket(intptr_t sock) { closesocket((SOCKET)sock); }

int wt_eventfd(intptr_t *fd) {
    (void)fd;
    return -1; /* no eventfd: the bridge's Windows wake-up is the socket */
}

uint32_t wt_thread_id(void) { return (uint32_t)GetCurrentThreadId(); }

uint64_t wt_now_us(void) {
    LARGE_INTEGER freq, now;
    QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&now);
    return (uint64_t)((double)now.QuadPart * 1e6 / (double)freq.QuadPart);
}

void wt_sleep_ms(uint32_t ms) { Sleep(ms); }

int wt_is_pipe(void *handle) { return GetFileType((HANDLE)handle) == FILE_TYPE_PIPE; }

int wt_pipe_roundtrip(void *write_end, void *read_end) {
    static const char message[] = "hcsaio through a Windows pipe";
    char back[sizeof message];
    DWORD done = 0;
    if (!WriteFile((HANDLE)write_end, message, sizeof message, &done, NULL) || done != sizeof message)
        return -1;
    DWORD got = 0;
    while (got < sizeof message) {
        if (!ReadFile((HANDLE)read_end, back + got, (DWORD)(sizeof message - got), &done, NULL) || done == 0)
            return -1;
        got += done;
    }
    return memcmp(message, back, sizeof message) == 0 ? 0 : -1;
}

void wt_close_handle(void *handle) { CloseHandle((HANDLE)handle); }

long wt_open_handles(void) { return -1; }

int wt_exe_dir(char *out, size_t size) {
    wchar_t path[MAX_PATH];
    DWORD n = GetModuleFileNameW(NULL, path, MAX_PATH);
    if (n == 0 || n >= MAX_PATH) return -1;
    while (n > 0 && path[n - 1] != L'\\' && path[n - 1] != L'/') n--;
    if (n == 0) return -1;
    path[n - 1] = 0;
    return WideCharToMultiByte(CP_UTF8, 0, path, -1, out, (int)size, NULL, NULL) > 0 ? 0 : -1;
}

static int widen(const char *utf8, wchar_t *out, int size) {
    return MultiByteToWideChar(CP_UTF8, 0, utf8, -1, out, size) > 0 ? 0 : -1;
}

int wt_copy_file(const char *from_utf8, const char *to_utf8) {
    wchar_t from[MAX_PATH], to[MAX_PATH];
    if (widen(from_utf8, from, MAX_PATH) || widen(to_utf8, to, MAX_PATH)) return -1;
    return CopyFileW(from, to, FALSE) ? 0 : -1;
}

int wt_delete_file(const char *path_utf8) {
    wchar_t path[MAX_PATH];
    if (widen(path_utf8, path, MAX_PATH)) return -1;
    return DeleteFileW(path) ? 0 : -1;
}
