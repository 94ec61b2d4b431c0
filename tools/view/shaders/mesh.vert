#version 450
// sedx-view: vertices from the bound vertex buffer (position, normal, uv); the camera and the
// object's transform from this frame's transient memory, by device address in push constants.
#extension GL_EXT_buffer_reference : require

layout(location = 0) in vec3 in_position;
layout(location = 1) in vec3 in_normal;
layout(location = 2) in vec2 in_uv;

layout(buffer_reference, std430, buffer_reference_align = 16) readonly buffer Camera {
    mat4 view_proj;
    vec4 eye;
    vec4 light_dir;
};
layout(buffer_reference, std430, buffer_reference_align = 16) readonly buffer Objects {
    mat4 model[];
};

layout(push_constant, std430) uniform Push {
    Camera camera;
    Objects objects;
    uvec2 bindless_table;
    uint material_id;   // the materials buffer's bindless ID
    uint object;        // index into objects; the picking ID is object + 1
    uint material;      // index into the materials buffer
} pc;

layout(location = 0) out vec3 out_normal;
layout(location = 1) out vec2 out_uv;
layout(location = 2) out vec3 out_world;

void main()
{
    mat4 m = pc.objects.model[pc.object];
    vec4 world = m * vec4(in_position, 1.0);
    out_world = world.xyz;
    out_normal = mat3(m) * in_normal; // uniform scales only (normalised in the fragment shader)
    out_uv = in_uv;
    gl_Position = pc.camera.view_proj * world;
}
