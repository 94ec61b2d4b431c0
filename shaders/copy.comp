#version 460
// Device-to-device copy: uvec4 loads and stores, grid-stride loop. Addresses come from
// vkGetBufferDeviceAddress (+ 16-byte aligned offsets); count is in 16-byte units.
#extension GL_EXT_buffer_reference : require

layout(local_size_x = 256) in;

layout(buffer_reference, std430, buffer_reference_align = 16) readonly buffer Src { uvec4 v[]; };
layout(buffer_reference, std430, buffer_reference_align = 16) writeonly buffer Dst { uvec4 v[]; };

layout(push_constant) uniform Push {
    Src src;
    Dst dst;
    uint count;
} pc;

void main()
{
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < pc.count; i += stride)
        pc.dst.v[i] = pc.src.v[i];
}
