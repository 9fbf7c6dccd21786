/*
 * bridge_test_os.h - the OS services bridge_test.c needs, behind an
 * interface without <windows.h> or POSIX headers. bridge_test.c includes the
 * bridge (hence hcs_defs.h, whose Win32 base types clash with the SDK's), so
 * it cannot include <windows.h>; the same split as the bridge's platform.h.
 *
 * Implementations: tests/windows/wine_os.c (Winsock, HANDLEs; run under
 * Wine) and tests/native/posix_os.c (Linux: fds). A "handle" below is a
 * HANDLE on Windows and a file descriptor cast to void * on POSIX, as in
 * HCS_PROCESS_INFORMATION; a "socket" is a SOCKET or an fd.
 */
#ifndef HCSAIO_BRIDGE_TEST_OS_H
#define HCSAIO_BRIDGE_TEST_OS_H
#include <stddef.h>
#include <stdint.h>

/* Process-wide setup (WSAStartup on Windows). 0 on success. */
int wt_init(void);
/* A connected pair, both ends non-blocking, as Python's socket.socketpair()
 * gives: loopback TCP on Windows, AF_UNIX stream sockets on POSIX.
 * nodelay: set TCP_NODELAY on the writer (TCP only). 0 on success. */
int wt_socketpair(intptr_t *reader, intptr_t *writer, int nodelay);
/* A non-blocking eventfd for HB_WAKE_EVENTFD in *fd; -1 where the platform
 * has none (Windows: the bridge only does the socket wake-up there). */
int wt_eventfd(intptr_t *fd);
/* Wait for readability: 1 readable, 0 timed out, -1 error. */
int wt_wait_readable(intptr_t sock, int timeout_ms);
/* Read whatever is pending (socket bytes, or an eventfd's 8-byte counter)
 * without blocking; returns the byte count. */
long wt_drain_socket(intptr_t sock);
void wt_close_socket(intptr_t sock);

uint32_t wt_thread_id(void);
uint64_t wt_now_us(void);
void wt_sleep_ms(uint32_t ms);

/* 1 if handle is a pipe (GetFileType == FILE_TYPE_PIPE, S_ISFIFO). */
int wt_is_pipe(void *handle);
/* Write a message into write_end and read it back from read_end. 0 if it came back intact. */
int wt_pipe_roundtrip(void *write_end, void *read_end);
void wt_close_handle(void *handle);
/* How many handles the process has open (fds in /proc/self/fd), for leak
 * checks; -1 where this is not counted (Windows: Wine's own handles come
 * and go). */
long wt_open_handles(void);

/* The directory of the running executable, UTF-8, without a trailing separator. */
int wt_exe_dir(char *out, size_t size);
/* Copy a file (overwriting). 0 on success. */
int wt_copy_file(const char *from_utf8, const char *to_utf8);
int wt_delete_file(const char *path_utf8);

#endif /* HCSAIO_BRIDGE_TEST_OS_H */
