#version 330 core
// Cross-dissolve of two pictures, each black outside its own rectangle (fit leaves black bars).

in vec2 uv0;
in vec2 uv1;

uniform sampler2D image0;
uniform sampler2D image1;
uniform float alpha;  // 0: only image0, 1: only image1

out vec4 colour;

vec3 sample_inside(sampler2D image, vec2 uv) {
    vec2 inside = step(vec2(0.0), uv) * step(uv, vec2(1.0));
    return texture(image, uv).rgb * (inside.x * inside.y);
}

void main() {
    colour = vec4(mix(sample_inside(image0, uv0), sample_inside(image1, uv1), alpha), 1.0);
}
