/* libFuzzer: random operation sequences on a virtual block (TLSF and linear), validated after
 * every operation. The input is a byte program; any crash, sanitizer report or failed
 * validation is a finding. */
#include <sedx/virtual_block.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t take(const uint8_t **p, size_t *n, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes && *n; ++i, ++*p, --*n) v |= (uint64_t)**p << (8 * i);
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sedx_set_log_level(SEDX_LOG_OFF);
    if (size < 3) return 0;
    const uint8_t *p = data;
    size_t n = size;
    sedx_virtual_block_info info = {0};
    info.flags = (uint32_t)(take(&p, &n, 1) & 1);
    info.size = 1 + take(&p, &n, 3); /* up to 16 MiB */
    sedx_virtual_block *b = NULL;
    if (sedx_virtual_block_create(&info, &b) != SEDX_SUCCESS) return 0;
    sedx_virtual_alloc live[256];
    uint32_t count = 0;
    while (n) {
        uint8_t op = (uint8_t)take(&p, &n, 1);
        switch (op & 3) {
        case 0:
        case 1: { /* allocate: size 0..2^24 (sometimes huge), alignment 2^0..2^16 or invalid */
            uint64_t sz = take(&p, &n, 3);
            if (op & 0x80) sz = UINT64_MAX - sz;
            uint64_t align = (op & 0x40) ? (uint64_t)(op >> 2 & 15) * 3 : (uint64_t)1 << (op >> 2 & 15);
            sedx_virtual_alloc a = 0;
            uint64_t off = 0;
            if (sedx_virtual_allocate(b, sz, align, NULL, &a, &off) == SEDX_SUCCESS) {
                if (off + sz > info.size || (align && off % align)) abort();
                if (count < 256) live[count++] = a;
                else sedx_virtual_free(b, a);
            }
            break;
        }
        case 2: /* free one (maybe twice: the second must be refused) */
            if (count) {
                uint32_t i = (uint32_t)(take(&p, &n, 1) % count);
                if (sedx_virtual_free(b, live[i]) != SEDX_SUCCESS) abort();
                if (op & 0x80 && sedx_virtual_free(b, live[i]) == SEDX_SUCCESS) abort(); /* double free */
                live[i] = live[--count];
            } else {
                sedx_virtual_free(b, take(&p, &n, 8)); /* a made-up handle */
            }
            break;
        default:
            if (op & 0x80) {
                sedx_virtual_block_clear(b);
                count = 0;
            }
            break;
        }
        if (sedx_virtual_block_validate(b) != SEDX_SUCCESS) abort();
    }
    sedx_virtual_block_destroy(b);
    return 0;
}
