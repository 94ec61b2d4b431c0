/* A program outside the sedx tree: links against an installed sedx or a build tree (run.sh). */
#include <sedx/sedx.h>
#include <stdio.h>

int main(void)
{
    sedx_virtual_block_info info = {1024 * 1024, 0};
    sedx_virtual_block *block = NULL;
    if (sedx_virtual_block_create(&info, &block) != SEDX_SUCCESS) return 1;
    sedx_virtual_alloc a = 0;
    uint64_t offset = 0;
    sedx_result r = sedx_virtual_allocate(block, 1000, 256, NULL, &a, &offset);
    sedx_virtual_block_destroy(block);
    printf("consumer: %s, offset %llu\n", sedx_result_name(r), (unsigned long long)offset);
    return r == SEDX_SUCCESS && offset % 256 == 0 ? 0 : 1;
}
