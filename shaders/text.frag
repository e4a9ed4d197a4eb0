#version 330 core
// The stats overlay: an RGBA texture drawn as it is, composited by the fixed-function alpha blend.

in vec2 uv0;
in vec2 uv1;

uniform sampler2D image0;

out vec4 colour;

void main() {
    colour = texture(image0, uv0);
}
