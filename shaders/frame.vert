#version 330 core
// One quad, with texture coordinates for two pictures that each occupy their own rectangle.
// Rectangles are (x0, y0, x1, y1) in normalised device coordinates, y up; the CPU computes them
// from the window size, each picture's size and the scale mode (fit or fill).

layout(location = 0) in vec2 corner;  // (0,0), (1,0), (0,1), (1,1)

uniform vec4 quad;      // where the quad is drawn
uniform vec4 picture0;  // where picture 0 lies
uniform vec4 picture1;  // where picture 1 lies

out vec2 uv0;
out vec2 uv1;

vec2 to_uv(vec2 pos, vec4 rect) {
    // texture row 0 is the picture's top row, so t grows downwards
    return vec2((pos.x - rect.x) / (rect.z - rect.x), (rect.w - pos.y) / (rect.w - rect.y));
}

void main() {
    vec2 pos = mix(quad.xy, quad.zw, corner);
    gl_Position = vec4(pos, 0.0, 1.0);
    uv0 = to_uv(pos, picture0);
    uv1 = to_uv(pos, picture1);
}
