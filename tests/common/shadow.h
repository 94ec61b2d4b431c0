/*
 * A random operation sequence over sedx's public buffer and transfer API, checked byte by byte
 * against a CPU shadow copy of every buffer. Shared by tests/gpu/sequence.c (one thread),
 * tests/gpu/sequence_threads.c (several threads, each its own sequence) and fuzz/api_fuzz.c
 * (the fuzzer's input bytes choose the operations).
 *
 * No cmocka here (the fuzzer links it without): failures are counted and reported on stderr
 * (with the seed, the operation index, the buffer, the first differing offset and the last
 * operations), or abort() when the configuration asks for it.
 *
 * The model: each live buffer has its bytes and a "known" mask (bytes never written are not
 * compared), its references (every sedx_buffer_retain is one, with its own handle), and whether
 * GPU work on it may still be pending (the host touches a CPU buffer's mapping only after that
 * work is waited for; everything else is ordered by sedx). A released buffer is dropped from
 * the model. The model follows what the calls really did: a call that should have failed but
 * succeeded is reported and its effect applied, so one bug does not make every later check fail.
 *
 * Newer calls in the mix: frames (sedx_frame_begin / _end with frames in flight, transient
 * allocations written with random data and copied into sedx buffers by a recorded
 * vkCmdCopyBuffer submitted in the frame, or uploaded from their mapping; offsets checked for
 * the usage's alignment, allocations of frames in flight checked untouched); zero-copy staging
 * (sedx_upload_reserve / _ex written in place, committed or cancelled later, several outstanding
 * among ordinary uploads: the model applies a commit at the commit, a cancel changes nothing);
 * asynchronous readback (sedx_download_async / _batch with and without callbacks, several
 * outstanding, taken out of order by poll / wait / result / cancel / pump: each result is
 * compared with a copy of the model taken at the request, since the bytes are the buffer's
 * after every earlier sedx call and before every later one). While reservations are
 * outstanding (in any thread), an upload that may wait can be refused with OUT_OF_STAGING
 * (docs/reserve.md); the bytes it was to write are then unknown to the model.
 *
 * Host memory in a buffer's own mapping: sedx_buffer_write/read move the bytes (memmove);
 * sedx_upload/sedx_download (and their batches) refuse host memory that overlaps the range they
 * write/read (SEDX_ERROR_INVALID_ARGUMENT, docs/errors.md) and copy from/into the rest of the
 * mapping like from any host memory.
 */
#ifndef SEDX_TEST_SHADOW_H
#define SEDX_TEST_SHADOW_H

#include <sedx/sedx.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct shadow_seq shadow_seq;

/* Read-only buffers every thread of a threads run reads (created by the main thread). */
#define SHADOW_SHARED_MAX 8
typedef struct shadow_shared {
    uint32_t count;
    struct {
        sedx_buffer ref;
        uint8_t *bytes;
        uint64_t size;
        bool cpu;
        _Atomic bool dead; /* destroyed behind the model's back (reported once) */
    } b[SHADOW_SHARED_MAX];
} shadow_shared;

typedef struct shadow_config {
    sedx_context *ctx;
    sedx_context *other_ctx;   /* optional: a second context for WRONG_CONTEXT calls */
    const char *mode;          /* name in reports */
    const char *repro;         /* how to rerun: "tests/gpu_sequence tiny" */
    uint64_t seed;             /* the PRNG's seed (bytes == NULL) */
    const uint8_t *bytes;      /* fuzz: the choices come from these bytes; the run ends with them */
    size_t byte_count;
    int thread;                /* -1: not a threads run */
    uint64_t max_size;         /* largest buffer (4 MiB) */
    uint64_t max_live_bytes;   /* live buffers together */
    uint32_t max_buffers;
    uint64_t ring_size;        /* the staging ring's size: sizes around it are favoured */
    shadow_shared *shared;     /* threads: read-only buffers; may be NULL */
    bool abort_on_failure;     /* fuzz */
    bool trace;                /* print every operation (SEDX_SEQ_TRACE=1) */
    bool check_logs;           /* a stale release must be logged (needs the log level at WARN or lower) */
    bool gate;                 /* hold the GPU now and then (single-threaded runs only) */
    uint64_t disabled_ops;     /* bit per op (shadow_parse_disabled): debugging aid, SEDX_SEQ_DISABLE */
    const char *ignore;        /* comma list: failure kinds containing one of these are not counted
                                  (SEDX_SEQ_IGNORE="(a),(d)": hunting past known bugs; never in CI) */
    bool no_frames;            /* leave the frame ops out (threads runs: one thread owns the frames) */
    uint64_t frame_block_size; /* sedx_frame_info.block_size for sedx_frames_configure (0: default) */
} shadow_config;

/* Installs the sequence's logger (counts per thread, silences the errors bad calls are expected
 * to log, prints the rest). Call once before any context exists. */
void shadow_install_logger(void);

shadow_seq *shadow_seq_create(const shadow_config *cfg);
/* One operation; false when the fuzz input is used up. */
bool shadow_seq_step(shadow_seq *s);
/* Downloads every live buffer and compares it whole, then releases everything and waits idle. */
void shadow_seq_finish(shadow_seq *s);
uint32_t shadow_seq_failures(const shadow_seq *s);
uint32_t shadow_seq_ops(const shadow_seq *s);
/* Per-operation counts and outcomes, one line each. */
void shadow_seq_print_stats(const shadow_seq *s);
void shadow_seq_destroy(shadow_seq *s);

/* SEDX_SEQ_DISABLE="copy_buffer,stale_copy": the bits for disabled_ops (unknown names: printed). */
uint64_t shadow_parse_disabled(const char *list);

/* Threads runs: the shared read-only buffers (random contents), checked and released at the end.
 * Both return the number of failures. */
uint32_t shadow_shared_create(sedx_context *ctx, shadow_shared *sh, uint64_t seed, uint64_t max_size);
uint32_t shadow_shared_finish(sedx_context *ctx, shadow_shared *sh);

#ifdef __cplusplus
}
#endif
#endif
