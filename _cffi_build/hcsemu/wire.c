/*
 * wire.c - frame encoding and decoding (PROTOCOL.md). Byte order is
 * written out explicitly so the layout does not depend on the host.
 */
#include "hcsemu.h"

#include <stdlib.h>
#include <string.h>

static void put16(unsigned char *p, uint16_t v) {
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

static void put64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

static uint16_t get16(const unsigned char *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static uint32_t get32(const unsigned char *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint64_t get64(const unsigned char *p) {
    return (uint64_t)get32(p) | ((uint64_t)get32(p + 4) << 32);
}

uint32_t hx_frame_length(const unsigned char *buf) { return get32(buf); }

unsigned char *hx_frame_encode(const hx_frame *f, size_t *size_out) {
    if (f->nfields > HX_MAX_FIELDS) {
        return NULL;
    }
    size_t size = HX_HEADER_SIZE;
    for (int i = 0; i < f->nfields; i++) {
        size += 4 + f->lens[i];
    }
    if (size > HX_MAX_FRAME) {
        return NULL;
    }
    unsigned char *buf = (unsigned char *)malloc(size);
    if (buf == NULL) {
        return NULL;
    }
    put32(buf, (uint32_t)size);
    put16(buf + 4, f->kind);
    buf[6] = f->nfields;
    buf[7] = f->fdmask;
    put64(buf + 8, f->request);
    put64(buf + 16, f->object);
    put64(buf + 24, f->object2);
    put32(buf + 32, (uint32_t)f->code);
    put32(buf + 36, f->arg);
    size_t off = HX_HEADER_SIZE;
    for (int i = 0; i < f->nfields; i++) {
        put32(buf + off, (uint32_t)f->lens[i]);
        off += 4;
        if (f->lens[i] != 0) {
            memcpy(buf + off, f->fields[i], f->lens[i]);
        }
        off += f->lens[i];
    }
    *size_out = size;
    return buf;
}

int hx_frame_decode(const unsigned char *buf, size_t size, hx_frame *f) {
    memset(f, 0, sizeof *f);
    if (size < HX_HEADER_SIZE || get32(buf) != size) {
        return -1;
    }
    f->kind = get16(buf + 4);
    f->nfields = buf[6];
    f->fdmask = buf[7];
    f->request = get64(buf + 8);
    f->object = get64(buf + 16);
    f->object2 = get64(buf + 24);
    f->code = (int32_t)get32(buf + 32);
    f->arg = get32(buf + 36);
    if (f->nfields > HX_MAX_FIELDS || (f->fdmask & ~7u) != 0) {
        return -1;
    }
    size_t off = HX_HEADER_SIZE;
    for (int i = 0; i < f->nfields; i++) {
        if (size - off < 4) {
            return -1;
        }
        uint32_t len = get32(buf + off);
        off += 4;
        if (len > size - off) {
            return -1;
        }
        f->fields[i] = (const char *)(buf + off);
        f->lens[i] = len;
        off += len;
    }
    return off == size ? 0 : -1;
}

int hx_frame_set_field16(hx_frame *f, int i, const uint16_t *s, char **keep) {
    size_t len = 0;
    char *utf8 = hx_utf16_to_utf8((const char16_t *)s, &len);
    if (utf8 == NULL || len > HX_MAX_FRAME) {
        free(utf8);
        return -1;
    }
    keep[i] = utf8;
    f->fields[i] = utf8;
    f->lens[i] = len;
    if (f->nfields < i + 1) {
        f->nfields = (uint8_t)(i + 1);
    }
    return 0;
}

void hx_frame_free_fields(char **keep) {
    for (int i = 0; i < HX_MAX_FIELDS; i++) {
        free(keep[i]);
        keep[i] = NULL;
    }
}
