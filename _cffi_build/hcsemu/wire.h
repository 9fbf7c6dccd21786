/*
 * wire.h - the frames of PROTOCOL.md: a 40-byte little-endian header and up
 * to four length-prefixed UTF-8 fields. hcsaio/emulator/_protocol.py is the
 * service's copy of the same layout.
 */
#ifndef HCSEMU_WIRE_H
#define HCSEMU_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define HX_PROTOCOL_VERSION 1u
#define HX_HEADER_SIZE 40u
#define HX_MAX_FIELDS 4
#define HX_MAX_FRAME (16u * 1024u * 1024u + HX_HEADER_SIZE + HX_MAX_FIELDS * 4u)

#define HX_FD_STDIN 1u
#define HX_FD_STDOUT 2u
#define HX_FD_STDERR 4u

enum hx_kind_wire {
    HX_K_HELLO = 1,
    HX_K_CREATE_SYSTEM = 2,
    HX_K_OPEN_SYSTEM = 3,
    HX_K_CLOSE_HANDLE = 4,
    HX_K_SYSTEM_OP = 5,
    HX_K_ENUMERATE = 6,
    HX_K_CREATE_PROCESS = 7,
    HX_K_OPEN_PROCESS = 8,
    HX_K_PROCESS_OP = 9,
    HX_K_WAIT_EXIT = 10,
    HX_K_CANCEL = 11,
    HX_K_SERVICE_QUERY = 12,
    HX_K_SERVICE_MODIFY = 13,
    HX_K_SUBMIT_WER = 14,
    HX_K_STOP_SERVICE = 15,
    HX_K_REPLY = 64,
    HX_K_EVENT = 65
};

typedef struct hx_frame {
    uint16_t kind;
    uint8_t nfields;
    uint8_t fdmask;
    uint64_t request;
    uint64_t object;
    uint64_t object2;
    int32_t code;
    uint32_t arg;
    const char *fields[HX_MAX_FIELDS]; /* UTF-8, not NUL-terminated on receipt */
    size_t lens[HX_MAX_FIELDS];
} hx_frame;

/* Serialize f into a fresh buffer (free with free()); NULL if too large or
 * out of memory. */
unsigned char *hx_frame_encode(const hx_frame *f, size_t *size_out);
/* Parse one complete frame of `size` bytes (size taken from its first
 * field); field pointers point into buf. 0 on success, -1 if malformed. */
int hx_frame_decode(const unsigned char *buf, size_t size, hx_frame *f);
/* The frame length announced by a header (needs 4 bytes). */
uint32_t hx_frame_length(const unsigned char *buf);

/* Set field i of f to a UTF-16 string converted to UTF-8 (owned by *keep,
 * an array of HX_MAX_FIELDS pointers the caller frees with
 * hx_frame_free_fields). NULL means "". Returns 0, or -1 on OOM/too long. */
int hx_frame_set_field16(hx_frame *f, int i, const uint16_t *s, char **keep);
void hx_frame_free_fields(char **keep);

#endif /* HCSEMU_WIRE_H */
