/* Review 6: the CPU byte buffer (sedx_bytes) against a shadow model, with a random sequence
 * (fixed seed) over four byte buffers: allocate (0 and odd sizes included), zero, write and
 * read at random ranges (into poisoned destinations), self-overlapping writes and reads
 * (memmove semantics), read_bytes, copy of a part of itself, ptr / at / SEDX_BYTES_REF with
 * alignments, and refusals with their exact code and one ERROR line that leave the buffer as
 * it was: ranges past the end, offset + size wrapping around UINT64_MAX / SIZE_MAX, sizes past
 * PTRDIFF_MAX, NULL data. Every step ends with a byte-by-byte comparison with the model. */
#include "test_util.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

enum { BUFS = 4, MAX_SIZE = 3000, STEPS = 20000 };

typedef struct shadow {
    uint8_t *data;
    uint64_t size;
} shadow;

static void same(const sedx_bytes *b, const shadow *s, int step)
{
    if (b->size != s->size) fail_msg("step %d: size %llu, model %llu", step, (unsigned long long)b->size,
                                     (unsigned long long)s->size);
    if (s->size == 0) {
        assert_null(b->data);
        assert_false(sedx_bytes_valid(b));
        return;
    }
    assert_true(sedx_bytes_valid(b));
    if (memcmp(b->data, s->data, s->size) != 0) fail_msg("step %d: bytes differ from the model", step);
}

#define REFUSED(call, code)                                                        \
    do {                                                                           \
        tu_log_reset();                                                            \
        sedx_result r_ = (call);                                                   \
        if (r_ != (code)) fail_msg("step %d: %s gave %d, expected %d", step, #call, r_, code); \
        assert_int_equal(tu_log_count(SEDX_LOG_ERROR), 1);                         \
    } while (0)

static void test_random_sequence(void **state)
{
    (void)state;
    uint64_t rng = tu_seed();
    sedx_bytes b[BUFS] = {{0}};
    shadow s[BUFS] = {{0}};
    uint8_t scratch[MAX_SIZE], poison[MAX_SIZE];
    tu_log_capture();
    int steps = tu_long_mode() ? 10 * STEPS : STEPS;
    for (int step = 0; step < steps; ++step) {
        int i = (int)(tu_rand(&rng) % BUFS);
        sedx_bytes *x = &b[i];
        shadow *m = &s[i];
        uint64_t off = m->size ? tu_rand(&rng) % (m->size + 1) : 0;
        uint64_t len = m->size - off ? tu_rand(&rng) % (m->size - off + 1) : 0;
        switch (tu_rand(&rng) % 12) {
        case 0: { /* allocate, then fill (allocate gives uninitialised bytes) */
            uint64_t size = tu_rand(&rng) % 8 == 0 ? 0 : 1 + tu_rand(&rng) % MAX_SIZE;
            assert_int_equal(sedx_bytes_allocate(x, size), SEDX_SUCCESS);
            free(m->data);
            m->size = size;
            m->data = size ? malloc(size) : NULL;
            if (size) {
                tu_fill_random(m->data, size, &rng);
                assert_int_equal(sedx_bytes_write(x, m->data, size, 0), SEDX_SUCCESS);
            }
            break;
        }
        case 1:
            assert_int_equal(sedx_bytes_zero(x), SEDX_SUCCESS);
            if (m->size) memset(m->data, 0, m->size);
            break;
        case 2: /* write random bytes */
            tu_fill_random(scratch, len, &rng);
            assert_int_equal(sedx_bytes_write(x, scratch, len, off), SEDX_SUCCESS);
            if (len) memcpy(m->data + off, scratch, len);
            break;
        case 3: { /* read into a poisoned destination */
            memset(poison, 0xA5, sizeof poison);
            assert_int_equal(sedx_bytes_read(x, poison, len, off), SEDX_SUCCESS);
            if (len && memcmp(poison, m->data + off, len) != 0) fail_msg("step %d: read differs", step);
            for (uint64_t k = len; k < sizeof poison; ++k)
                if (poison[k] != 0xA5) fail_msg("step %d: read wrote past %llu bytes", step, (unsigned long long)len);
            break;
        }
        case 4: { /* write from inside itself: overlapping ranges move like memmove */
            if (!m->size) break;
            uint64_t from = tu_rand(&rng) % (m->size - len + 1);
            assert_int_equal(sedx_bytes_write(x, x->data + from, len, off), SEDX_SUCCESS);
            if (len) memmove(m->data + off, m->data + from, len);
            break;
        }
        case 5: { /* read into itself */
            if (!m->size) break;
            uint64_t to = tu_rand(&rng) % (m->size - len + 1);
            assert_int_equal(sedx_bytes_read(x, x->data + to, len, off), SEDX_SUCCESS);
            if (len) memmove(m->data + to, m->data + off, len);
            break;
        }
        case 6: { /* read_bytes into another buffer (possibly itself) */
            int j = (int)(tu_rand(&rng) % BUFS);
            assert_int_equal(sedx_bytes_read_bytes(x, len, off, &b[j]), SEDX_SUCCESS);
            uint8_t *copy = len ? malloc(len) : NULL;
            if (len) memcpy(copy, m->data + off, len);
            free(s[j].data);
            s[j].data = copy;
            s[j].size = len;
            same(&b[j], &s[j], step);
            break;
        }
        case 7: { /* copy of a part of itself */
            assert_int_equal(sedx_bytes_copy(x, len ? x->data + off : NULL, len), SEDX_SUCCESS);
            uint8_t *copy = len ? malloc(len) : NULL;
            if (len) memcpy(copy, m->data + off, len);
            free(m->data);
            m->data = copy;
            m->size = len;
            break;
        }
        case 8: { /* pointers: inside and aligned, else NULL with a log line */
            uint64_t align = 1ull << (tu_rand(&rng) % 4);
            void *p = sedx_bytes_ptr(x, off, len, align);
            bool ok = len > 0 && ((uintptr_t)(x->data + off) & (align - 1)) == 0;
            if (ok != (p != NULL)) fail_msg("step %d: sedx_bytes_ptr(%llu, %llu, %llu)", step, (unsigned long long)off,
                                            (unsigned long long)len, (unsigned long long)align);
            if (p) assert_ptr_equal(p, x->data + off);
            uint8_t *at = sedx_bytes_at(x, off);
            if (off < m->size) {
                assert_ptr_equal(at, x->data + off);
                assert_int_equal(*at, m->data[off]);
            } else {
                assert_null(at);
            }
            uint32_t *ref = SEDX_BYTES_REF(x, uint32_t, off);
            bool ref_ok = off + 4 <= m->size && ((uintptr_t)(x->data + off) & (alignof(uint32_t) - 1)) == 0;
            if (ref_ok != (ref != NULL)) fail_msg("step %d: SEDX_BYTES_REF at %llu", step, (unsigned long long)off);
            break;
        }
        case 9: { /* refused ranges, wrap-around included: nothing changes */
            uint64_t sz = m->size;
            switch (tu_rand(&rng) % 6) {
            case 0: REFUSED(sedx_bytes_write(x, scratch, 1, sz), SEDX_ERROR_OUT_OF_BOUNDS); break;
            case 1: REFUSED(sedx_bytes_write(x, scratch, 2, UINT64_MAX), SEDX_ERROR_OUT_OF_BOUNDS); break;
            case 2: REFUSED(sedx_bytes_read(x, poison, (UINT64_MAX - off) + (off ? 1 : 0), off), SEDX_ERROR_OUT_OF_BOUNDS); break;
            case 3: REFUSED(sedx_bytes_read(x, poison, (uint64_t)SIZE_MAX, 1), SEDX_ERROR_OUT_OF_BOUNDS); break;
            case 4: REFUSED(sedx_bytes_write(x, scratch, sz - off + 1, off), SEDX_ERROR_OUT_OF_BOUNDS); break;
            default: {
                sedx_bytes keep = b[(i + 1) % BUFS];
                REFUSED(sedx_bytes_read_bytes(x, len + 1 + (sz - off), off, &b[(i + 1) % BUFS]),
                        SEDX_ERROR_OUT_OF_BOUNDS);
                assert_memory_equal(&keep, &b[(i + 1) % BUFS], sizeof keep);
            }
            }
            break;
        }
        case 10: { /* refused sizes and NULL data: the buffer keeps what it held */
            sedx_bytes before = *x;
            switch (tu_rand(&rng) % 4) {
            case 0: REFUSED(sedx_bytes_allocate(x, (uint64_t)PTRDIFF_MAX + 1), SEDX_ERROR_INVALID_SIZE); break;
            case 1: REFUSED(sedx_bytes_allocate(x, UINT64_MAX), SEDX_ERROR_INVALID_SIZE); break;
            case 2: REFUSED(sedx_bytes_copy(x, NULL, 1 + len), SEDX_ERROR_INVALID_ARGUMENT); break;
            default:
                if (len) REFUSED(sedx_bytes_write(x, NULL, len, off), SEDX_ERROR_INVALID_ARGUMENT);
                else REFUSED(sedx_bytes_read(x, NULL, 1, m->size), SEDX_ERROR_OUT_OF_BOUNDS);
            }
            assert_memory_equal(&before, x, sizeof before);
            break;
        }
        default: /* size 0 at every offset up to the end: a no-op, NULL data allowed */
            assert_int_equal(sedx_bytes_write(x, NULL, 0, off), SEDX_SUCCESS);
            assert_int_equal(sedx_bytes_read(x, NULL, 0, m->size), SEDX_SUCCESS);
            REFUSED(sedx_bytes_read(x, NULL, 0, m->size + 1), SEDX_ERROR_OUT_OF_BOUNDS);
            break;
        }
        same(x, m, step);
    }
    for (int i = 0; i < BUFS; ++i) {
        same(&b[i], &s[i], steps);
        sedx_bytes_release(&b[i]);
        sedx_bytes_release(&b[i]); /* twice: a no-op */
        assert_null(b[i].data);
        assert_int_equal(b[i].size, 0);
        free(s[i].data);
    }
    sedx_bytes_release(NULL);
    sedx_set_logger(NULL, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_random_sequence)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
