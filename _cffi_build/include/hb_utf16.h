/*
 * hb_utf16.h - UTF-16 (the HCS API's PCWSTR) to UTF-8, shared by the bridge
 * (bridge/dispatcher.c: documents HCS hands to callbacks) and libhcsemu
 * (hcsemu/strings.c: strings going on the wire).
 *
 * Header-only (static inline), with no side effects but the allocation:
 * each user keeps its own bookkeeping (the bridge counts the documents it
 * has outstanding) in a wrapper. Include it from .c files only: bridge.h
 * and hcs_defs.h are fed to cffi's cdef, which cannot parse function
 * bodies.
 */
#ifndef HB_UTF16_H
#define HB_UTF16_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <uchar.h>

/* MSVC's C front end (the Windows wheel) spells it __inline before /std:c11. */
#if defined(_MSC_VER) && !defined(__cplusplus)
#define HB_UTF16_INLINE static __inline
#else
#define HB_UTF16_INLINE static inline
#endif

/* Code units before the terminating NUL; 0 for NULL. */
HB_UTF16_INLINE size_t hb_utf16_units(const char16_t *s) {
    size_t units = 0;
    if (s != NULL) {
        while (s[units] != 0) {
            units++;
        }
    }
    return units;
}

/* The first `units` code units of `s` as freshly malloc'ed, NUL-terminated
 * UTF-8; *len_out gets the byte count (without the NUL). Unpaired
 * surrogates become U+FFFD. NULL when out of memory. */
HB_UTF16_INLINE char *hb_utf16_to_utf8_n(const char16_t *s, size_t units, size_t *len_out) {
    /* Worst case 3 bytes per unit (a surrogate pair is 2 units -> 4 bytes). */
    if (units > (SIZE_MAX - 1) / 3) {
        return NULL;
    }
    char *out = (char *)malloc(units * 3 + 1);
    if (out == NULL) {
        return NULL;
    }
    size_t n = 0;
    for (size_t i = 0; i < units; i++) {
        uint32_t c = s[i];
        if (c >= 0xD800 && c <= 0xDBFF && i + 1 < units && s[i + 1] >= 0xDC00 &&
            s[i + 1] <= 0xDFFF) {
            c = 0x10000 + ((c - 0xD800) << 10) + (uint32_t)(s[i + 1] - 0xDC00);
            i++;
        } else if (c >= 0xD800 && c <= 0xDFFF) {
            c = 0xFFFD; /* an unpaired surrogate has no UTF-8 form */
        }
        if (c < 0x80) {
            out[n++] = (char)c;
        } else if (c < 0x800) {
            out[n++] = (char)(0xC0 | (c >> 6));
            out[n++] = (char)(0x80 | (c & 0x3F));
        } else if (c < 0x10000) {
            out[n++] = (char)(0xE0 | (c >> 12));
            out[n++] = (char)(0x80 | ((c >> 6) & 0x3F));
            out[n++] = (char)(0x80 | (c & 0x3F));
        } else {
            out[n++] = (char)(0xF0 | (c >> 18));
            out[n++] = (char)(0x80 | ((c >> 12) & 0x3F));
            out[n++] = (char)(0x80 | ((c >> 6) & 0x3F));
            out[n++] = (char)(0x80 | (c & 0x3F));
        }
    }
    out[n] = '\0';
    *len_out = n;
    return out;
}

#endif
