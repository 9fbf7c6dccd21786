/*
 * strings.c - UTF-16 (the API's PCWSTR) <-> UTF-8 (the wire), and the
 * documents the library writes itself. Returned strings come from malloc,
 * which is what the exported LocalFree/CoTaskMemFree release. UTF-16 to
 * UTF-8 is the bridge's conversion too: one copy, in include/hb_utf16.h.
 */
#include "hcsemu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hb_utf16.h"

char *hx_utf16_to_utf8(const char16_t *s, size_t *len_out) {
    size_t units = hb_utf16_units(s); /* NULL -> "" */
    if (units > HX_MAX_FRAME) {
        return NULL; /* no frame could carry it anyway */
    }
    return hb_utf16_to_utf8_n(s, units, len_out);
}

/* Decode one UTF-8 sequence at s[i..len); returns the code point (U+FFFD
 * for malformed input) and advances *i. */
static uint32_t next_code_point(const unsigned char *s, size_t len, size_t *i) {
    unsigned char b = s[*i];
    int extra;
    uint32_t c, min;
    if (b < 0x80) {
        (*i)++;
        return b;
    } else if ((b & 0xE0) == 0xC0) {
        extra = 1, c = b & 0x1F, min = 0x80;
    } else if ((b & 0xF0) == 0xE0) {
        extra = 2, c = b & 0x0F, min = 0x800;
    } else if ((b & 0xF8) == 0xF0) {
        extra = 3, c = b & 0x07, min = 0x10000;
    } else {
        (*i)++;
        return 0xFFFD;
    }
    if (len - *i <= (size_t)extra) {
        *i = len;
        return 0xFFFD;
    }
    for (int k = 1; k <= extra; k++) {
        unsigned char cont = s[*i + (size_t)k];
        if ((cont & 0xC0) != 0x80) {
            *i += (size_t)k;
            return 0xFFFD;
        }
        c = (c << 6) | (cont & 0x3F);
    }
    *i += (size_t)extra + 1;
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
        return 0xFFFD;
    }
    return c;
}

char16_t *hx_utf8_to_utf16(const char *s, size_t len) {
    /* At most one UTF-16 unit per byte (4-byte sequences give 2 units). */
    char16_t *out = (char16_t *)malloc((len + 1) * sizeof(char16_t));
    if (out == NULL) {
        return NULL;
    }
    size_t n = 0, i = 0;
    while (i < len) {
        uint32_t c = next_code_point((const unsigned char *)s, len, &i);
        if (c == 0) {
            c = 0xFFFD; /* a NUL would cut the document short */
        }
        if (c >= 0x10000) {
            c -= 0x10000;
            out[n++] = (char16_t)(0xD800 + (c >> 10));
            out[n++] = (char16_t)(0xDC00 + (c & 0x3FF));
        } else {
            out[n++] = (char16_t)c;
        }
    }
    out[n] = 0;
    return out;
}

char16_t *hx_dup16(const char16_t *s) {
    if (s == NULL) {
        return NULL;
    }
    size_t units = 0;
    while (s[units] != 0) {
        units++;
    }
    char16_t *out = (char16_t *)malloc((units + 1) * sizeof(char16_t));
    if (out != NULL) {
        memcpy(out, s, (units + 1) * sizeof(char16_t));
    }
    return out;
}

char16_t *hx_result_error(HRESULT hr, const char *message) {
    /* Messages are ASCII literals of this library: no JSON escaping needed
     * beyond what they are written to avoid (no quotes, no backslashes). */
    char buf[512];
    int n = snprintf(buf, sizeof buf,
                     "{\"Error\":%d,\"ErrorMessage\":\"%s\",\"ErrorEvents\":[{\"Message\":\"%s\","
                     "\"Source\":\"libhcsemu\"}]}",
                     (int)hr, message, message);
    if (n < 0 || (size_t)n >= sizeof buf) {
        n = snprintf(buf, sizeof buf, "{\"Error\":%d}", (int)hr);
    }
    return hx_utf8_to_utf16(buf, (size_t)n);
}

HRESULT hx_give_doc(const char16_t *doc, PWSTR *out) {
    if (out == NULL) {
        return S_OK_HR;
    }
    *out = NULL;
    if (doc == NULL) {
        return S_OK_HR;
    }
    *out = hx_dup16(doc);
    return *out != NULL ? S_OK_HR : E_OUTOFMEMORY_HR;
}

/* ---- the documented frees ---- */

void *LocalFree(void *hMem) {
    free(hMem);
    return NULL; /* LocalFree returns NULL on success */
}

void CoTaskMemFree(void *pv) { free(pv); }
