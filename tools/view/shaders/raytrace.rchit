#version 460
// sedx-view --raytrace: the closest hit: the object ID (gl_InstanceCustomIndexEXT, the raster
// pass's picking ID) and a colour: a hash colour of that ID times the raster pass's light on the
// triangle's geometric normal (positions fetched from the scene's vertex and index buffers by
// device address; two-sided, as the raster pass lights).
#extension GL_EXT_ray_tracing : require
#extension GL_EXT_buffer_reference : require

struct Vertex { float px, py, pz, nx, ny, nz, u, v; }; // view_vertex
layout(buffer_reference, std430, buffer_reference_align = 4) readonly buffer Vertices { Vertex v[]; };
layout(buffer_reference, std430, buffer_reference_align = 4) readonly buffer Indices { uint i[]; };
layout(buffer_reference, std430, buffer_reference_align = 8) readonly buffer Objects { uvec2 first[]; };
layout(buffer_reference, std430, buffer_reference_align = 16) readonly buffer Params {
    mat4 inv_view;
    mat4 inv_proj;
    vec4 light_dir;
    vec2 t_range;
    uvec2 pad;
    Vertices vertices;
    Indices indices;
    Objects objects;
};
layout(push_constant, std430) uniform Push { Params params; } pc;

struct Payload { vec3 color; uint id; };
layout(location = 0) rayPayloadInEXT Payload payload;

vec3 hash_color(uint id)
{
    uint h = id * 2654435761u;
    h ^= h >> 15;
    h *= 2246822519u;
    h ^= h >> 13;
    return vec3(uvec3(h, h >> 8, h >> 16) & 255u) / 255.0 * 0.75 + 0.25;
}

void main()
{
    uint id = uint(gl_InstanceCustomIndexEXT);
    uvec2 first = pc.params.objects.first[id - 1u];
    uint base = first.x + 3u * uint(gl_PrimitiveID);
    vec3 p[3];
    for (uint k = 0u; k < 3u; ++k) {
        Vertex x = pc.params.vertices.v[pc.params.indices.i[base + k] + first.y];
        p[k] = vec3(x.px, x.py, x.pz);
    }
    // object to world for normals: the transpose of the world-to-object matrix's 3x3 part
    vec3 n = transpose(mat3(gl_WorldToObjectEXT)) * cross(p[1] - p[0], p[2] - p[0]);
    float len = length(n);
    n = len > 0.0 ? n / len : -gl_WorldRayDirectionEXT;
    if (dot(n, gl_WorldRayDirectionEXT) > 0.0) n = -n; // two-sided
    float diffuse = max(dot(n, normalize(-pc.params.light_dir.xyz)), 0.0);
    payload.color = hash_color(id) * (0.25 + 0.75 * diffuse);
    payload.id = id;
}
