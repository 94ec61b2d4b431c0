/* sedx-bench: `sedx-bench <alloc|buffers|upload|reserve|frame|readback|image> [--json] [--runs N] [--out FILE] [bench options]` */
#include "bench.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *v, int n)
{
    if (n <= 0) return 0.0;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return (n & 1) ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

cJSON *bench_add_machine(cJSON *root, char *cpu, size_t cap)
{
    snprintf(cpu, cap, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f)) {
            if (strncmp(line, "model name", 10) != 0) continue;
            const char *p = strchr(line, ':');
            if (p) {
                p += 1 + (p[1] == ' ');
                snprintf(cpu, cap, "%s", p);
                cpu[strcspn(cpu, "\n")] = 0;
            }
            break;
        }
        fclose(f);
    }
    cJSON *m = cJSON_AddObjectToObject(root, "machine");
    cJSON_AddStringToObject(m, "cpu", cpu);
    cJSON_AddNumberToObject(m, "online_cpus", (double)sysconf(_SC_NPROCESSORS_ONLN));
#if defined(__clang__)
    cJSON_AddStringToObject(m, "compiler", "clang " __clang_version__);
#elif defined(__GNUC__)
    cJSON_AddStringToObject(m, "compiler", "gcc " __VERSION__);
#endif
#ifdef __OPTIMIZE__
    cJSON_AddBoolToObject(m, "optimized", true);
#else
    cJSON_AddBoolToObject(m, "optimized", false);
#endif
#ifdef NDEBUG
    cJSON_AddBoolToObject(m, "ndebug", true);
#else
    cJSON_AddBoolToObject(m, "ndebug", false);
#endif
    return m;
}

int bench_emit_json(const bench_args *args, cJSON *root)
{
    char *text = cJSON_Print(root);
    if (!text) return 1;
    int rc = 0;
    if (args->json) printf("%s\n", text);
    if (args->out) {
        FILE *f = fopen(args->out, "w");
        if (!f || fprintf(f, "%s\n", text) < 0) {
            fprintf(stderr, "cannot write %s\n", args->out);
            rc = 1;
        }
        if (f && fclose(f) != 0) rc = 1;
    }
    cJSON_free(text);
    return rc;
}

bool bench_has_flag(const bench_args *args, const char *flag)
{
    for (int i = 0; i < args->argc; ++i)
        if (strcmp(args->argv[i], flag) == 0) return true;
    return false;
}

const char *bench_flag_value(const bench_args *args, const char *flag)
{
    for (int i = 0; i + 1 < args->argc; ++i)
        if (strcmp(args->argv[i], flag) == 0) return args->argv[i + 1];
    return NULL;
}

int bench_readback(const bench_args *args); /* bench_readback.c */
int bench_image(const bench_args *args);    /* bench_image.c */

static void usage(void)
{
    fprintf(stderr,
            "usage: sedx-bench <benchmark> [--json] [--runs N] [--out FILE] [options]\n"
            "  alloc     Workloads A and B of docs/benchmarks.md (virtual block; buffers on the device)\n"
            "  buffers   buffer create+destroy vs raw Vulkan; uniform update patterns\n"
            "  upload    transfers: staging ring, scatter, device copy, readback\n"
            "  reserve   zero-copy staging: produced in place (reserve/commit) vs sedx_upload\n"
            "  frame     transient allocation: 1 and 8 threads against bump pointers\n"
            "  readback  asynchronous readback: CPU cost per 256 B picking request in a frame loop\n"
            "  image     an image with its mip chain from pageable memory vs the same bytes into a buffer\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage();
        return argc < 2 ? 2 : 0;
    }
    bench_args a = {argc - 2, argv + 2, false, 5, NULL};
    a.json = bench_has_flag(&a, "--json");
    const char *runs = bench_flag_value(&a, "--runs");
    if (runs) a.runs = atoi(runs) > 0 ? atoi(runs) : 5;
    a.out = bench_flag_value(&a, "--out");

    int (*fn)(const bench_args *) = NULL;
    if (strcmp(argv[1], "alloc") == 0) fn = bench_alloc;
    else if (strcmp(argv[1], "buffers") == 0) fn = bench_buffers;
    else if (strcmp(argv[1], "upload") == 0) fn = bench_upload;
    else if (strcmp(argv[1], "reserve") == 0) fn = bench_reserve;
    else if (strcmp(argv[1], "frame") == 0) fn = bench_frame;
    else if (strcmp(argv[1], "readback") == 0) fn = bench_readback;
    else if (strcmp(argv[1], "image") == 0) fn = bench_image;
    else {
        usage();
        return 2;
    }
    if (!fn) {
        fprintf(stderr, "sedx-bench: '%s' is not built into this version\n", argv[1]);
        return 3;
    }
    return fn(&a);
}
