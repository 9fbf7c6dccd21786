/*
 * The UTF-16 -> UTF-8 conversion the bridge and libhcsemu share
 * (_cffi_build/include/hb_utf16.h), and libhcsemu's use of it (strings.c):
 * surrogate pairs, unpaired surrogates, every UTF-8 length, NULL, and the
 * way back through hx_utf8_to_utf16. Exits 0 when every case holds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hb_utf16.h"
#include "hcsemu.h"

static int failures;

static void expect(const char *name, const char16_t *in, const char *want)
{
    size_t len = 99, hx_len = 99;
    char *got = hb_utf16_to_utf8_n(in, hb_utf16_units(in), &len);
    char *hx = hx_utf16_to_utf8(in, &hx_len);
    if (!got || len != strlen(want) || memcmp(got, want, len + 1) != 0) {
        fprintf(stderr, "%s: hb_utf16_to_utf8_n gave the wrong bytes\n", name);
        failures++;
    }
    if (!hx || hx_len != len || (got && memcmp(hx, got, len + 1) != 0)) {
        fprintf(stderr, "%s: libhcsemu differs from the shared conversion\n", name);
        failures++;
    }
    free(got);
    free(hx);
}

static void round_trip(const char *name, const char16_t *in)
{
    size_t len;
    char *utf8 = hb_utf16_to_utf8_n(in, hb_utf16_units(in), &len);
    char16_t *back = utf8 ? hx_utf8_to_utf16(utf8, len) : NULL;
    size_t units = hb_utf16_units(in);
    if (!back || hb_utf16_units(back) != units || memcmp(back, in, (units + 1) * 2) != 0) {
        fprintf(stderr, "%s: no round trip\n", name);
        failures++;
    }
    free(utf8);
    free(back);
}

int main(void)
{
    static const char16_t ascii[] = u"{\"Id\":\"x\"}";
    static const char16_t mixed[] = u"caf\u00e9 \u2603 \U0001F600 \U0010FFFF";
    static const char16_t lone_high[] = {u'a', 0xD83D, u'b', 0};
    static const char16_t lone_low[] = {0xDE00, u'c', 0};
    static const char16_t high_at_end[] = {u'd', 0xD83D, 0};
    static const char16_t reversed[] = {0xDE00, 0xD83D, 0};
    static const char16_t empty[] = {0};

    expect("ascii", ascii, "{\"Id\":\"x\"}");
    expect("mixed", mixed, "caf\xc3\xa9 \xe2\x98\x83 \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf");
    expect("lone high", lone_high, "a\xef\xbf\xbd" "b");
    expect("lone low", lone_low, "\xef\xbf\xbd" "c");
    expect("high at end", high_at_end, "d\xef\xbf\xbd");
    expect("reversed pair", reversed, "\xef\xbf\xbd\xef\xbf\xbd");
    expect("empty", empty, "");
    expect("NULL", NULL, "");
    round_trip("ascii", ascii);
    round_trip("mixed", mixed);
    if (hb_utf16_units(NULL) != 0 || hb_utf16_units(mixed) != 12) {
        fprintf(stderr, "hb_utf16_units miscounts\n");
        failures++;
    }
    if (failures == 0)
        puts("ok");
    return failures != 0;
}
