#version 460
// sedx-bench upload: a plain device-to-device copy, the limit sedx_gpu_copy is measured against.
// Written for the benchmark (not the library's shaders/copy.comp): uvec4 loads and stores,
// grid-stride loop, so one shader covers every workgroup count the benchmark tries (one
// invocation per uvec4 when the dispatch is large enough, a loop otherwise). Addresses come from
// vkGetBufferDeviceAddress; count is in 16-byte units.
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
