/*
 * loader.c - open an HCS library chosen at run time and resolve its exports.
 *
 * Every export is optional: hcsshim binds each HRESULT-returning export
 * lazily and reports ERROR_PROC_NOT_FOUND when it is missing, because the
 * export set grew across Windows builds (reference section 0). A missing
 * export leaves a NULL in the table; the generated hb_call_* wrappers turn
 * that into E_PROC_NOT_FOUND_HR instead of a crash.
 *
 * Libraries are never unloaded: a late HCS callback may still run code or
 * read tables of a library after Python has stopped using it.
 */
#include <stdio.h>
#include <string.h>

#include "bridge_internal.h"
#include "platform.h"

typedef struct hb_library {
    void *handle;
    hb_computecore api;
    PFN_LocalFree local_free;
    PFN_CoTaskMemFree cotask_free;
    PFN_HcsEmuSetCallTimeout set_call_timeout; /* libhcsemu only */
    PFN_HcsEmuConnected connected;             /* libhcsemu only */
} hb_library;

static const char *const g_export_names[] = {
#define HB_X(name) #name,
    HB_COMPUTECORE_EXPORTS(HB_X)
#undef HB_X
};
#define HB_EXPORT_COUNT ((int32_t)(sizeof g_export_names / sizeof g_export_names[0]))

static hb_library g_libraries[HB_MAX_LIBRARIES + 1]; /* index 0 unused: tokens never carry 0 */
static int32_t g_library_count;                      /* guarded by g_loader_lock */
static hb_mutex g_loader_lock;

static void hb_loader_init(void) { hb_mutex_init(&g_loader_lock); }

/* hb_run_once is shared with the dispatcher module; both inits are cheap and
 * idempotent, so the dispatcher's init calls this one too. */
void hb_loader_init_once(void);
void hb_loader_init_once(void) { hb_loader_init(); }

int32_t hb_library_open(const char *path_utf8, int32_t flags, char *err, size_t errlen) {
    if (path_utf8 == NULL || err == NULL) {
        return E_INVALIDARG_HR;
    }
    err[0] = '\0';
    void *h = hb_dl_open(path_utf8, flags, err, errlen);
    if (h == NULL) {
        return E_MOD_NOT_FOUND_HR;
    }
    hb_mutex_lock(&g_loader_lock);
    /* The same library opened twice shares one index, so tokens stay small
     * and tables are not duplicated. */
    for (int32_t i = 1; i <= g_library_count; i++) {
        if (g_libraries[i].handle == h) {
            hb_mutex_unlock(&g_loader_lock);
            return i;
        }
    }
    if (g_library_count >= HB_MAX_LIBRARIES) {
        hb_mutex_unlock(&g_loader_lock);
        snprintf(err, errlen, "too many libraries opened (limit %d)", HB_MAX_LIBRARIES);
        return E_OUTOFMEMORY_HR;
    }
    int32_t index = g_library_count + 1;
    hb_library *lib = &g_libraries[index];
    lib->handle = h;
#define HB_X(name) lib->api.name = (PFN_##name)hb_dl_sym(h, #name);
    HB_COMPUTECORE_EXPORTS(HB_X)
#undef HB_X
    lib->local_free = (PFN_LocalFree)hb_dl_sym(h, "LocalFree");
    lib->cotask_free = (PFN_CoTaskMemFree)hb_dl_sym(h, "CoTaskMemFree");
    lib->set_call_timeout = (PFN_HcsEmuSetCallTimeout)hb_dl_sym(h, "HcsEmuSetCallTimeout");
    lib->connected = (PFN_HcsEmuConnected)hb_dl_sym(h, "HcsEmuConnected");
    g_library_count = index; /* publish only once the table is complete */
    hb_mutex_unlock(&g_loader_lock);
    return index;
}

static hb_library *hb_library_get(int32_t lib) {
    /* Readers need no lock: entries are written once before g_library_count
     * covers them and never change afterwards. */
    if (lib < 1 || lib > HB_MAX_LIBRARIES || g_libraries[lib].handle == NULL) {
        return NULL;
    }
    return &g_libraries[lib];
}

const hb_computecore *hb_library_api(int32_t lib) {
    hb_library *l = hb_library_get(lib);
    return l ? &l->api : NULL;
}

int32_t hb_export_count(void) { return HB_EXPORT_COUNT; }

const char *hb_export_name(int32_t i) {
    return (i >= 0 && i < HB_EXPORT_COUNT) ? g_export_names[i] : NULL;
}

int32_t hb_library_has_export(int32_t lib, int32_t i) {
    hb_library *l = hb_library_get(lib);
    if (l == NULL) {
        return E_HANDLE_HR;
    }
    if (i < 0 || i >= HB_EXPORT_COUNT) {
        return E_INVALIDARG_HR;
    }
    void *const *table = (void *const *)&l->api;
    return table[i] != NULL;
}

void hb_library_free_string(int32_t lib, void *str) {
    if (str == NULL) {
        return;
    }
    hb_library *l = hb_library_get(lib);
    /* Prefer the library's own allocator pair (the emulator and the test
     * fake export LocalFree/CoTaskMemFree); on Windows the system
     * LocalFree is the documented free for computecore strings. */
    if (l != NULL && l->local_free != NULL) {
        l->local_free(str);
    } else if (l != NULL && l->cotask_free != NULL) {
        l->cotask_free(str);
    } else {
        hb_platform_free_string(str);
    }
}

void hb_library_set_call_timeout(int32_t lib, uint32_t timeout_ms) {
    hb_library *l = hb_library_get(lib);
    if (l != NULL && l->set_call_timeout != NULL) {
        l->set_call_timeout(timeout_ms);
    }
}

int32_t hb_library_connected(int32_t lib) {
    hb_library *l = hb_library_get(lib);
    if (l == NULL || l->connected == NULL) {
        return -1;
    }
    return l->connected() ? 1 : 0;
}
