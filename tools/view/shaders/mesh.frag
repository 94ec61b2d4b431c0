#version 450
// sedx-view: base colour factor x base colour texture, a directional light and an ambient term;
// the material comes from a storage buffer found through the bindless device-address table by
// the materials buffer's resource ID; the object ID goes to a second (R32_UINT) target.
#extension GL_EXT_buffer_reference : require
#extension GL_EXT_buffer_reference_uvec2 : require

layout(buffer_reference, std430, buffer_reference_align = 16) readonly buffer Camera {
    mat4 view_proj;
    vec4 eye;
    vec4 light_dir;
};
layout(buffer_reference, std430, buffer_reference_align = 16) readonly buffer Objects {
    mat4 model[];
};
struct Entry { uvec2 address; uvec2 size; }; // sedx_bindless_entry
layout(buffer_reference, std430, buffer_reference_align = 16) readonly buffer Table {
    Entry entries[];
};
struct Material { vec4 base_color; };
layout(buffer_reference, std430, buffer_reference_align = 16) readonly buffer Materials {
    Material materials[];
};

layout(push_constant, std430) uniform Push {
    Camera camera;
    Objects objects;
    Table bindless_table;
    uint material_id;
    uint object;
    uint material;
} pc;

layout(set = 0, binding = 0) uniform sampler2D base_color_tex;

layout(location = 0) in vec3 in_normal;
layout(location = 1) in vec2 in_uv;
layout(location = 2) in vec3 in_world;

layout(location = 0) out vec4 out_color;
layout(location = 1) out uint out_id;

void main()
{
    Materials mats = Materials(pc.bindless_table.entries[pc.material_id].address);
    vec4 base = mats.materials[pc.material].base_color * texture(base_color_tex, in_uv);
    vec3 n = normalize(in_normal);
    vec3 v = normalize(pc.camera.eye.xyz - in_world);
    if (dot(n, v) < 0.0) n = -n; // two-sided lighting
    float diffuse = max(dot(n, normalize(-pc.camera.light_dir.xyz)), 0.0);
    out_color = vec4(base.rgb * (0.25 + 0.75 * diffuse), 1.0);
    out_id = pc.object + 1u;
}
