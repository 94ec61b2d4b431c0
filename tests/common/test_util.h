/* Test helpers shared by unit and GPU tests (cmocka). */
#ifndef SEDX_TEST_UTIL_H
#define SEDX_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>
#include <sedx/sedx.h>

/* A context on the default device with validation on (synchronization validation too when
 * sync is true). Fails the test if creation fails. If SEDX_REQUIRE_DEVICE is set (CI sets
 * "llvmpipe"), the chosen device's name must contain it. */
sedx_context *tu_context(bool sync);
sedx_context *tu_context_flags(uint32_t flags, const sedx_allocator_info *alloc);
/* Fails the test if validation reported any error or warning; then destroys the context. */
void tu_context_destroy(sedx_context *ctx);

/* A submission on queue that waits for a timeline semaphore the host signals later
 * (tu_open_gate): everything submitted after it on that queue waits too. Destroy the returned
 * semaphore with vkDestroySemaphore after the GPU is past it. */
VkSemaphore tu_gate(sedx_context *ctx, sedx_queue queue, sedx_ticket *out_ticket);
void tu_open_gate(sedx_context *ctx, VkSemaphore gate);

/* Log capture: every message is counted (and still printed at WARN and above). */
void tu_log_capture(void);
uint32_t tu_log_count(sedx_log_level level);   /* messages at exactly this level */
bool tu_log_contains(const char *needle);      /* any captured message contains needle */
void tu_log_reset(void);

/* Deterministic random numbers: xorshift64*, seeded from SEDX_TEST_SEED (default fixed). */
uint64_t tu_seed(void);
uint64_t tu_rand(uint64_t *state);
void tu_fill_random(void *dst, size_t size, uint64_t *state);
/* true in long mode (SEDX_TEST_LONG=1): more iterations. */
bool tu_long_mode(void);

/* Records a fill of the whole of buf with word into cmd, ordered after everything before it on
 * the queue and before later transfers (a barrier on each side). */
void tu_cmd_fill(const sedx_cmd *cmd, const sedx_buffer *buf, uint32_t word);

/* A fresh directory /tmp/sedx-<program>-XXXXXX for a test program's files (tu_temp_dir() is its
 * path): cmocka group set-up and tear-down (the tear-down removes it with everything in it). */
int tu_temp_dir_setup(void **state);
int tu_temp_dir_teardown(void **state);
const char *tu_temp_dir(void);

#endif
