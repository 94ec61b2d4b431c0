#version 460
// tests/gpu/frame.c and examples: one frame's uniforms (256 bytes, read through a dynamic
// uniform buffer offset) mixed into one word, written to result[pc.slot]. Each frame writes its
// own word, so frames in flight never write the same bytes.
layout(local_size_x = 1) in;

layout(set = 0, binding = 0, std140) uniform Frame { uvec4 v[16]; } u;
layout(set = 0, binding = 1, std430) writeonly buffer Result { uint r[]; } result;

layout(push_constant) uniform Push { uint slot; } pc;

void main()
{
    uint h = 2166136261u;
    for (int i = 0; i < 16; ++i)
        for (int k = 0; k < 4; ++k) h = (h ^ u.v[i][k]) * 16777619u;
    result.r[pc.slot] = h;
}
