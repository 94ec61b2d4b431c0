/* sedx-bench: shared declarations. Each benchmark lives in its own file and is listed in main.c. */
#ifndef SEDX_BENCH_H
#define SEDX_BENCH_H
#include <sedx/sedx.h>
#include <stdio.h>

typedef struct bench_args {
    int argc;
    char **argv;       /* arguments after the benchmark's name */
    bool json;         /* --json: print one JSON document on stdout, human text on stderr */
    int runs;          /* --runs N (default 5) */
    const char *out;   /* --out FILE: also write the JSON there */
} bench_args;

/* Each returns a process exit code (0 = ran and every check value matched). */
int bench_alloc(const bench_args *args);
int bench_buffers(const bench_args *args);
int bench_upload(const bench_args *args);
int bench_reserve(const bench_args *args);
int bench_frame(const bench_args *args);

/* Prints root on stdout with --json and writes it to --out FILE; 0 or 1 (write failed). */
struct cJSON;
int bench_emit_json(const bench_args *args, struct cJSON *root);
/* Adds root.machine {cpu, online_cpus, compiler, optimized, ndebug}; the CPU model goes into
 * cpu[cap] too. Returns the machine object. */
struct cJSON *bench_add_machine(struct cJSON *root, char *cpu, size_t cap);
/* Median of n doubles (sorts in place). */
double bench_median(double *v, int n);
/* True if argv has the flag. Value of "--name VALUE" or NULL. */
bool bench_has_flag(const bench_args *args, const char *flag);
const char *bench_flag_value(const bench_args *args, const char *flag);
#endif
