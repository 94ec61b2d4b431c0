#version 460
// tests/gpu/bindless.c: reads buffers through sedx's bindless device-address table. For each
// ID in ids[], the sum of the buffer's 32-bit words (its size read from the table), mixed with
// the word count, goes to result[].
#extension GL_EXT_buffer_reference : require

layout(local_size_x = 64) in;

layout(buffer_reference, std430, buffer_reference_align = 4) readonly buffer Words { uint w[]; };
layout(buffer_reference, std430, buffer_reference_align = 4) writeonly buffer Out { uint v[]; };

struct Entry {      // sedx_bindless_entry: 16 bytes
    Words address;
    uint size_lo;
    uint size_hi;
};
layout(buffer_reference, std430, buffer_reference_align = 16) readonly buffer Table { Entry e[]; };

layout(push_constant) uniform Push {
    Table table;
    Words ids;
    Out result;
    uint count;
} pc;

void main()
{
    uint i = gl_GlobalInvocationID.x;
    if (i >= pc.count) return;
    Entry e = pc.table.e[pc.ids.w[i]];
    uint words = e.size_lo / 4u;
    uint sum = 0u;
    for (uint k = 0u; k < words; ++k) sum += e.address.w[k];
    pc.result.v[i] = sum ^ (words * 2654435761u);
}
