/* Review 6: buffers released while the GPU still uses them, checked through the memory itself.
 *
 * Rounds of a random sequence (fixed seed): sources filled with random bytes, then, behind a
 * gate on each queue (tu_gate; the main queue and, on a discrete GPU, the transfer-only one), a device copy, a copy batch, an asynchronous readback or a
 * staged upload followed by a copy uses each source, and the source is released at once (its
 * only reference, or a retained one and then the original). While the gate is closed:
 *  - every released source is still pending, its ID is given to no new buffer and its bindless
 *    table entry still holds its address and size;
 *  - new buffers of the same sizes (GPU and CPU memory) never land in a released source's bytes
 *    of its VkDeviceMemory, and they are overwritten with poison at once (CPU memory through
 *    buffer.data, GPU memory through sedx_upload): had the memory been reused, the copies below
 *    would read the poison.
 * After the gate opens every copy destination (poisoned before) and every readback holds the
 * source's bytes (the CPU shadow), byte by byte; the released sources' IDs are free again and
 * their table entries {0, 0}. The context keeps working. Runs with the default transfer
 * settings and again with SEDX_TRANSFER_NO_DIRECT (the staged path of a discrete GPU). */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

enum { ROUNDS = 6, MAX_SRC = 14, FRESH_PER_SRC = 2 };

typedef struct range {
    VkDeviceMemory mem;
    uint64_t offset, size;
} range;

typedef struct alloc_find {
    uint32_t id;
    uint64_t allocation_size;
} alloc_find;

static void find_alloc(const sedx_buffer_info *bi, void *user)
{
    alloc_find *f = user;
    if (bi->id == f->id) f->allocation_size = bi->allocation_size;
}

static range range_of(sedx_context *ctx, const sedx_buffer *b)
{
    range r = {0};
    r.mem = sedx_buffer_memory(b, &r.offset);
    alloc_find f = {sedx_buffer_id(b), 0};
    sedx_buffer_list(ctx, find_alloc, &f);
    assert_true(f.allocation_size >= b->size);
    r.size = f.allocation_size;
    assert_non_null(r.mem);
    return r;
}

static bool overlap(range a, range b)
{
    return a.mem == b.mem && a.offset < b.offset + b.size && b.offset < a.offset + a.size;
}

typedef enum op_kind { OP_COPY, OP_BATCH, OP_READBACK, OP_UPLOAD_COPY, OP_KINDS } op_kind;

typedef struct src_state {
    sedx_buffer src, dst;
    uint8_t *shadow;
    uint64_t size;
    op_kind op;
    sedx_ticket ticket;
    sedx_download_request req;
    uint32_t id;
    sedx_bindless_entry entry;
    range mem;
} src_state;

static sedx_buffer make(sedx_context *ctx, uint64_t size, sedx_memory_flags memory, const char *name)
{
    sedx_buffer b;
    assert_int_equal(sedx_buffer_create(ctx, size, SEDX_BUFFER_USAGE_STORAGE | SEDX_BUFFER_USAGE_VERTEX, memory, name, &b),
                     SEDX_SUCCESS);
    return b;
}

static void run(bool no_direct)
{
    sedx_context *ctx = tu_context(false);
    if (no_direct) {
        sedx_transfer_info ti = {0};
        ti.flags = SEDX_TRANSFER_NO_DIRECT;
        assert_int_equal(sedx_transfer_configure(ctx, &ti), SEDX_SUCCESS);
    }
    sedx_bindless_layout layout;
    assert_int_equal(sedx_bindless_get(ctx, &layout), SEDX_SUCCESS);
    assert_true(layout.table_address != 0); /* lavapipe and every GPU sedx targets: buffer device address */
    uint64_t rng = tu_seed() ^ (no_direct ? 0x6e6f646972ull : 0);
    uint32_t pending_seen = 0;
    for (int round = 0; round < ROUNDS; ++round) {
        uint32_t n = 6 + (uint32_t)(tu_rand(&rng) % (MAX_SRC - 5));
        src_state s[MAX_SRC];
        memset(s, 0, sizeof s);
        for (uint32_t i = 0; i < n; ++i) {
            s[i].size = 4 * (1 + tu_rand(&rng) % 8192); /* 4 B .. 32 KiB */
            s[i].op = (op_kind)(tu_rand(&rng) % OP_KINDS);
            s[i].src = make(ctx, s[i].size, (tu_rand(&rng) & 1) ? SEDX_MEMORY_CPU : SEDX_MEMORY_GPU, "review6 source");
            s[i].dst = make(ctx, s[i].size, SEDX_MEMORY_CPU, "review6 destination");
            memset(s[i].dst.data, 0xCD, s[i].size);
            s[i].shadow = malloc(s[i].size);
            tu_fill_random(s[i].shadow, s[i].size, &rng);
            if (s[i].op != OP_UPLOAD_COPY)
                assert_int_equal(sedx_upload(ctx, &s[i].src, 0, s[i].size, s[i].shadow), SEDX_SUCCESS);
        }
        assert_int_equal(sedx_upload_flush(ctx), SEDX_SUCCESS);

        /* both queues where there is a transfer-only one (the readbacks and uploads run there; on
         * lavapipe the main queue is all there is) */
        sedx_ticket gated;
        VkSemaphore gate = tu_gate(ctx, SEDX_QUEUE_GRAPHICS, &gated), gate_t = VK_NULL_HANDLE;
        if (sedx_context_has_transfer_queue(ctx)) gate_t = tu_gate(ctx, SEDX_QUEUE_TRANSFER, &gated);
        uint32_t pending0 = sedx_context_pending_deletions(ctx);
        for (uint32_t i = 0; i < n; ++i) {
            src_state *x = &s[i];
            x->id = sedx_buffer_id(&x->src);
            x->mem = range_of(ctx, &x->src);
            assert_int_equal(sedx_bindless_entry_get(ctx, x->id, &x->entry), SEDX_SUCCESS);
            assert_true(x->entry.address == sedx_buffer_address(&x->src) && x->entry.size == x->size);
            switch (x->op) {
            case OP_COPY:
                assert_int_equal(sedx_gpu_copy(ctx, &x->src, 0, &x->dst, 0, x->size, &x->ticket), SEDX_SUCCESS);
                break;
            case OP_BATCH: { /* two halves, the second first */
                uint64_t h = (x->size / 2) & ~3ull;
                sedx_copy_region reg[2] = {{&x->src, h, &x->dst, h, x->size - h}, {&x->src, 0, &x->dst, 0, h}};
                assert_int_equal(sedx_gpu_copy_batch(ctx, reg, h ? 2 : 1, &x->ticket), SEDX_SUCCESS);
                break;
            }
            case OP_READBACK:
                assert_int_equal(sedx_download_async(ctx, &x->src, 0, x->size, &x->req), SEDX_SUCCESS);
                break;
            default: /* an upload in the open batch, then a copy that submits it first */
                assert_int_equal(sedx_upload(ctx, &x->src, 0, x->size, x->shadow), SEDX_SUCCESS);
                assert_int_equal(sedx_gpu_copy(ctx, &x->src, 0, &x->dst, 0, x->size, &x->ticket), SEDX_SUCCESS);
                break;
            }
            if (tu_rand(&rng) & 1) { /* a retained reference released last */
                sedx_buffer extra = sedx_buffer_retain(&x->src);
                sedx_buffer_release(&x->src);
                assert_int_equal(sedx_buffer_id(&extra), x->id);
                sedx_buffer_release(&extra);
            } else {
                sedx_buffer_release(&x->src);
            }
        }
        /* the gate is closed: nothing the sources were used for has run */
        assert_int_equal(sedx_context_collect_garbage(ctx), 0);
        assert_int_equal(sedx_context_pending_deletions(ctx), pending0 + n);
        for (uint32_t i = 0; i < n; ++i) {
            sedx_bindless_entry e;
            assert_int_equal(sedx_bindless_entry_get(ctx, s[i].id, &e), SEDX_SUCCESS);
            assert_memory_equal(&e, &s[i].entry, sizeof e);
        }
        sedx_buffer fresh[MAX_SRC * FRESH_PER_SRC];
        uint32_t nf = 0;
        uint8_t *poison = malloc(32768);
        memset(poison, 0xEE, 32768);
        for (uint32_t i = 0; i < n; ++i) {
            for (int k = 0; k < FRESH_PER_SRC; ++k) {
                sedx_memory_flags mem = k ? SEDX_MEMORY_GPU : SEDX_MEMORY_CPU;
                sedx_buffer *f = &fresh[nf++];
                *f = make(ctx, s[i].size, mem, "review6 fresh");
                range fr = range_of(ctx, f);
                uint32_t fid = sedx_buffer_id(f);
                for (uint32_t j = 0; j < n; ++j) {
                    if (overlap(fr, s[j].mem))
                        fail_msg("round %d: a new buffer [%llu, +%llu) lands in released source %u [%llu, +%llu) "
                                 "while the GPU may still use it",
                                 round, (unsigned long long)fr.offset, (unsigned long long)fr.size, j,
                                 (unsigned long long)s[j].mem.offset, (unsigned long long)s[j].mem.size);
                    if (fid == s[j].id) fail_msg("round %d: ID %u given out while its buffer is in flight", round, fid);
                }
                if (mem == SEDX_MEMORY_CPU) memset(f->data, 0xEE, s[i].size);
                else assert_int_equal(sedx_upload(ctx, f, 0, s[i].size, poison), SEDX_SUCCESS);
            }
        }
        free(poison);
        assert_int_equal(sedx_upload_submit(ctx, NULL), SEDX_SUCCESS);
        pending_seen += sedx_context_pending_deletions(ctx) - pending0;

        tu_open_gate(ctx, gate);
        if (gate_t) tu_open_gate(ctx, gate_t);
        for (uint32_t i = 0; i < n; ++i) {
            src_state *x = &s[i];
            if (x->op == OP_READBACK) {
                uint8_t *got = malloc(x->size);
                memset(got, 0xCD, x->size);
                assert_int_equal(sedx_download_wait(ctx, &x->req, UINT64_MAX), SEDX_SUCCESS);
                assert_int_equal(sedx_download_result(ctx, &x->req, got), SEDX_SUCCESS);
                if (memcmp(got, x->shadow, x->size) != 0) fail_msg("round %d: readback %u differs", round, i);
                free(got);
            } else {
                assert_int_equal(sedx_ticket_wait(ctx, x->ticket, UINT64_MAX), SEDX_SUCCESS);
                if (memcmp(x->dst.data, x->shadow, x->size) != 0)
                    fail_msg("round %d: copy %u (op %d, %llu bytes) differs from its source", round, i, (int)x->op,
                             (unsigned long long)x->size);
            }
        }
        assert_int_equal(sedx_context_wait_idle(ctx), SEDX_SUCCESS);
        assert_int_equal(sedx_context_pending_deletions(ctx), 0);
        for (uint32_t i = 0; i < n; ++i) {
            sedx_bindless_entry e;
            assert_int_equal(sedx_bindless_entry_get(ctx, s[i].id, &e), SEDX_SUCCESS);
            if (e.address != 0 || e.size != 0) fail_msg("round %d: entry of released ID %u not cleared", round, s[i].id);
        }
        /* the IDs are free again: the next buffers take them */
        uint32_t ids_back = 0;
        sedx_buffer again[MAX_SRC];
        for (uint32_t i = 0; i < n; ++i) {
            again[i] = make(ctx, 64, SEDX_MEMORY_GPU, "review6 again");
            for (uint32_t j = 0; j < n; ++j) ids_back += sedx_buffer_id(&again[i]) == s[j].id;
        }
        assert_int_equal(ids_back, n);
        for (uint32_t i = 0; i < n; ++i) {
            sedx_buffer_release(&again[i]);
            sedx_buffer_release(&s[i].dst);
            free(s[i].shadow);
        }
        for (uint32_t i = 0; i < nf; ++i) sedx_buffer_release(&fresh[i]);
        vkDestroySemaphore(sedx_context_device(ctx), gate, NULL);
        if (gate_t) vkDestroySemaphore(sedx_context_device(ctx), gate_t, NULL);
    }
    assert_true(pending_seen > 0);
    assert_int_equal(sedx_context_wait_idle(ctx), SEDX_SUCCESS);
    assert_int_equal(sedx_buffer_list(ctx, NULL, NULL), 0);
    /* still works */
    uint8_t data[1000], got[1000];
    tu_fill_random(data, sizeof data, &rng);
    sedx_buffer b = make(ctx, sizeof data, SEDX_MEMORY_GPU, "review6 still works");
    assert_int_equal(sedx_upload(ctx, &b, 0, sizeof data, data), SEDX_SUCCESS);
    memset(got, 0xCD, sizeof got);
    assert_int_equal(sedx_download(ctx, &b, 0, sizeof got, got), SEDX_SUCCESS);
    assert_memory_equal(got, data, sizeof data);
    sedx_buffer_release(&b);
    tu_context_destroy(ctx);
}

static void test_released_in_flight(void **state)
{
    (void)state;
    run(false);
}

static void test_released_in_flight_staged(void **state)
{
    (void)state;
    run(true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_released_in_flight),
        cmocka_unit_test(test_released_in_flight_staged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
