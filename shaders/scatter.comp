#version 460
// Small-upload scatter: one workgroup per region; each region copies `words` 32-bit words
// from the staging ring (src + src_word) to its destination address. A region table lives in
// the staging ring next to the data, so one dispatch replaces thousands of copy regions.
#extension GL_EXT_buffer_reference : require

layout(local_size_x = 64) in;
// 16-byte words each invocation loads before it stores any (1: load, store, load, ...). The
// loads of one invocation are independent; issuing several before the first store keeps more
// reads of the ring (host memory, over PCIe, on a discrete GPU) in flight per workgroup.
layout(constant_id = 0) const uint LOADS = 1u;

layout(buffer_reference, std430, buffer_reference_align = 4) buffer Words { uint w[]; };
layout(buffer_reference, std430, buffer_reference_align = 16) buffer Words4 { uvec4 v[]; };

struct Region {
    Words dst;      // destination address (byte offset already added)
    uint src_word;  // offset in the staging ring, in words
    uint words;     // length in words; bit 31: 16-byte aligned, copy as uvec4
};

layout(buffer_reference, std430, buffer_reference_align = 16) readonly buffer Table { Region r[]; };

layout(push_constant) uniform Push {
    Words src;      // staging ring base
    Table table;
    uint count;     // regions
    uint first;     // first region of this dispatch
} pc;

void main()
{
    uint index = pc.first + gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
    if (index >= pc.count) return;
    Region reg = pc.table.r[index];
    uint n = reg.words & 0x7fffffffu;
    if ((reg.words & 0x80000000u) != 0u) {
        Words4 s4 = Words4(pc.src);
        Words4 d4 = Words4(reg.dst);
        uint base4 = reg.src_word >> 2;
        uint n4 = n >> 2;
        // src + src_word*4 is 16-byte aligned: index the uvec4 view
        uint i = gl_LocalInvocationID.x;
        for (; LOADS > 1u && i + 64u * (LOADS - 1u) < n4; i += 64u * LOADS) {
            uvec4 v[LOADS];
            for (uint k = 0u; k < LOADS; ++k) v[k] = s4.v[base4 + i + 64u * k];
            for (uint k = 0u; k < LOADS; ++k) d4.v[i + 64u * k] = v[k];
        }
        for (; i < n4; i += 64u)
            d4.v[i] = s4.v[base4 + i];
    } else {
        for (uint i = gl_LocalInvocationID.x; i < n; i += 64u)
            reg.dst.w[i] = pc.src.w[reg.src_word + i];
    }
}
