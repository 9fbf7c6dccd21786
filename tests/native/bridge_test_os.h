/*
 * wine_os.h - the Windows services wine_bridge_test.c needs. That file
 * includes the bridge (hence hcs_defs.h) and so cannot include <windows.h>;
 * wine_os.c does, behind this Win32-free interface (the same split as the
 * bridge's own platform.h).
 */
#ifndef HCSAIO_WINE_OS_H
#define HCSAIO_WINE_OS_H
#include <stddef.h>
#include <stdint.h>

/* WSAStartup. 0 on success. */
int wt_init(void);
/* A connected loopback TCP pair, both ends non-blocking (what Python's
 * socket.socketpair() gives on Windows). nodelay: set TCP_NODELAY on the
 * writer. 0 on success. */
int wt_socketpair(intptr_t *reader, intptr_t *writer, int nodelay);
/* select() for readability: 1 readable, 0 timed out, -1 error. */
int wt_wait_readable(intptr_t sock, int timeout_ms);
/* Read whatever is pending without blocking; returns the byte count. */
long wt_drain_socket(intptr_t sock);
void wt_close_socket(intptr_t sock);

uint32_t wt_thread_id(void);
uint64_t wt_now_us(void);
void wt_sleep_ms(uint32_t ms);

/* 1 if handle is a pipe HANDLE (GetFileType == FILE_TYPE_PIPE). */
int wt_is_pipe(void *handle);
/* Write a message into write_end and read it back from read_end. 0 if it came back intact. */
int wt_pipe_roundtrip(void *write_end, void *read_end);
void wt_close_handle(void *handle);

/* The directory of the running executable, UTF-8, without a trailing separator. */
int wt_exe_dir(char *out, size_t size);
/* CopyFile (overwriting). 0 on success. */
int wt_copy_file(const char *from_utf8, const char *to_utf8);
int wt_delete_file(const char *path_utf8);

#endif /* HCSAIO_WINE_OS_H */
