/* The common parts of the baseline workloads: see workloads.h and docs/benchmarks.md. */
#include "workloads.h"

#include <inttypes.h>
#include <math.h>

wl_trace wl_a_reference_trace(uint32_t ops, uint32_t alloc_percent)
{
    wl_rng r;
    wl_seed(&r);
    wl_trace t;
    wl_trace_init(&t);
    uint64_t live = 0;
    for (uint32_t i = 0; i < ops; ++i) {
        uint64_t x = wl_next(&r);
        if (live == 0 || x % 100u < alloc_percent) {
            wl_trace_alloc(&t, wl_draw_size(&r));
            live++;
        } else {
            wl_trace_free(&t, wl_next(&r) % live);
            live--;
        }
    }
    return t;
}

static int check(FILE *log, cJSON *arr, const char *name, uint64_t expected, uint64_t actual, bool hex)
{
    bool ok = expected == actual;
    if (log) {
        if (hex)
            fprintf(log, "  %-34s 0x%016" PRIx64 "  expected 0x%016" PRIx64 "  %s\n", name, actual, expected,
                    ok ? "ok" : "MISMATCH");
        else
            fprintf(log, "  %-34s %18" PRIu64 "  expected %18" PRIu64 "  %s\n", name, actual, expected,
                    ok ? "ok" : "MISMATCH");
    }
    if (arr) {
        cJSON *o = cJSON_CreateObject();
        char e[32], a[32];
        snprintf(e, sizeof e, hex ? "0x%016" PRIx64 : "%" PRIu64, expected);
        snprintf(a, sizeof a, hex ? "0x%016" PRIx64 : "%" PRIu64, actual);
        cJSON_AddStringToObject(o, "name", name);
        cJSON_AddStringToObject(o, "expected", e);
        cJSON_AddStringToObject(o, "actual", a);
        cJSON_AddBoolToObject(o, "ok", ok);
        cJSON_AddItemToArray(arr, o);
    }
    return ok ? 0 : 1;
}

int wl_verify_check_values(FILE *log, cJSON *json)
{
    static const uint64_t k_next[5] = {UINT64_C(0x0d83b3e29a21487a), UINT64_C(0x54c44c79f1fe9d67),
                                       UINT64_C(0xa845f342007a0e78), UINT64_C(0x7d6e0b878a794779),
                                       UINT64_C(0x90d8d6e5a10dd485)};
    static const uint64_t k_sizes[8] = {28, 629, 23446, 3664, 8498, 14960, 165613, 1404};
    cJSON *arr = json ? cJSON_AddArrayToObject(json, "checks") : NULL;
    int bad = 0;
    char name[48];
    if (log) fprintf(log, "check values (docs/benchmarks.md):\n");

    wl_rng r;
    wl_seed(&r);
    for (int i = 0; i < 5; ++i) {
        snprintf(name, sizeof name, "next() #%d", i + 1);
        bad += check(log, arr, name, k_next[i], wl_next(&r), true);
    }
    wl_seed(&r);
    for (int i = 0; i < 8; ++i) {
        snprintf(name, sizeof name, "draw_size() #%d", i + 1);
        bad += check(log, arr, name, k_sizes[i], wl_draw_size(&r), false);
    }
    wl_seed(&r);
    uint64_t sum = 0, mn = UINT64_MAX, mx = 0, fnv = WL_FNV_OFFSET;
    for (int i = 0; i < 1000000; ++i) {
        uint64_t s = wl_draw_size(&r);
        sum += s;
        mn = s < mn ? s : mn;
        mx = s > mx ? s : mx;
        fnv = wl_fnv_u64(fnv, s);
    }
    bad += check(log, arr, "1e6 draw_size(): sum", UINT64_C(94696716056), sum, false);
    bad += check(log, arr, "1e6 draw_size(): min", 16, mn, false);
    bad += check(log, arr, "1e6 draw_size(): max", 1048567, mx, false);
    bad += check(log, arr, "1e6 draw_size(): FNV-1a-64", UINT64_C(0xa3f4635abf14b072), fnv, true);

    wl_trace t = wl_a_reference_trace(WL_A_TRACE_OPS, WL_A_ALLOC_PERCENT);
    bad += check(log, arr, "A ops 0..9999: trace FNV-1a-64", WL_A_TRACE_FNV, t.fnv, true);
    bad += check(log, arr, "A ops 0..9999: size sum", WL_A_TRACE_SIZE_SUM, t.size_sum, false);
    if (json) cJSON_AddBoolToObject(json, "checks_ok", bad == 0);
    return bad;
}
