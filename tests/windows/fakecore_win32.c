/*
 * fakecore_win32.c - the two OS calls of tests/native/fakecore.c that need
 * <windows.h>, which cannot share a translation unit with hcs_defs.h (both
 * declare HRESULT, DWORD, HANDLE ... with different spellings).
 *
 * HCS hands process stdio back as pipe HANDLEs the caller owns; the fake
 * does the same with anonymous pipes, so the Wine test can check that what
 * reaches the queue is a real, usable HANDLE.
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

int fake_os_pipe(HANDLE *read_end, HANDLE *write_end);
void fake_os_close(HANDLE handle);

int fake_os_pipe(HANDLE *read_end, HANDLE *write_end) {
    return CreatePipe(read_end, write_end, NULL, 0) ? 0 : -1;
}

void fake_os_close(HANDLE handle) {
    if (handle != NULL && handle != INVALID_HANDLE_VALUE) {
        CloseHandle(handle);
    }
}
