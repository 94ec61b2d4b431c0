#version 460
// tests/gpu/bindless.c: the same sums as bindless_table.comp, read through sedx's bindless
// descriptor array (set 0, binding 0) indexed by ID; the sizes come from the test.
#extension GL_EXT_buffer_reference : require
#extension GL_EXT_nonuniform_qualifier : require

layout(local_size_x = 64) in;

layout(set = 0, binding = 0) readonly buffer Buf { uint w[]; } bufs[];

layout(buffer_reference, std430, buffer_reference_align = 4) readonly buffer Words { uint w[]; };
layout(buffer_reference, std430, buffer_reference_align = 4) writeonly buffer Out { uint v[]; };

layout(push_constant) uniform Push {
    Words ids;
    Words sizes;
    Out result;
    uint count;
} pc;

void main()
{
    uint i = gl_GlobalInvocationID.x;
    if (i >= pc.count) return;
    uint id = pc.ids.w[i];
    uint words = pc.sizes.w[i] / 4u;
    uint sum = 0u;
    for (uint k = 0u; k < words; ++k) sum += bufs[nonuniformEXT(id)].w[k];
    pc.result.v[i] = sum ^ (words * 2654435761u);
}
