"""The stats text box: a few lines of white text on translucent black, over the picture's top left corner.

pygame's default font renders the text into an RGBA surface only when the text changes, and that
surface becomes one RGBA8 texture; every draw then puts the texture on the window's quad with the
text shader and alpha blending, so showing the box costs one more draw call per frame.

pygame and OpenGL are imported inside the methods: an overlay lives only in a Window's GL context,
made after the Window has loaded both, and importing this module must need neither SDL nor libGL.
"""

from __future__ import annotations

from .shaders import new_texture

OVERLAY_FONT_SIZE = 18  # pygame's default font at this size has glyphs about 13 px tall
OVERLAY_MARGIN, OVERLAY_PADDING = 8, 6


class Overlay:
    """The text box's text, its texture (while there is text) and the font it is rendered with."""

    def __init__(self) -> None:
        self.text: str | None = None
        self.texture: int | None = None
        self.size = (0, 0)  # the box's (width, height) in pixels
        self._font = None

    def set(self, text: str | None) -> None:
        """Show `text` from the next draw on (None or empty: no box); rendered only when it changes."""
        if text == self.text:
            return
        import pygame
        from OpenGL import GL

        self.text = text
        if not text:
            if self.texture is not None:
                GL.glDeleteTextures([self.texture])
            self.texture = None
            return
        if self._font is None:
            pygame.font.init()
            self._font = pygame.font.Font(None, OVERLAY_FONT_SIZE)
        lines = [self._font.render(line or " ", True, (255, 255, 255)) for line in text.splitlines()]
        width = max(line.get_width() for line in lines) + 2 * OVERLAY_PADDING
        height = sum(line.get_height() for line in lines) + 2 * OVERLAY_PADDING
        box = pygame.Surface((width, height), pygame.SRCALPHA)
        box.fill((0, 0, 0, 160))
        y = OVERLAY_PADDING
        for line in lines:
            box.blit(line, (OVERLAY_PADDING, y))
            y += line.get_height()
        if self.texture is None:
            self.texture = new_texture(GL.GL_NEAREST)
        GL.glBindBuffer(GL.GL_PIXEL_UNPACK_BUFFER, 0)
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.texture)
        GL.glTexImage2D(GL.GL_TEXTURE_2D, 0, GL.GL_RGBA8, width, height, 0, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE,
                        pygame.image.tobytes(box, "RGBA"))
        self.size = (width, height)

    def draw(self, program: int, uniforms: dict[str, int], window: tuple[int, int]) -> None:
        """Draw the box, if there is one, at the top left of a window of this size, with the text `program`
        (its uniform locations by name) on the quad already bound."""
        if self.texture is None:
            return
        from OpenGL import GL

        (width, height), (tw, th) = window, self.size
        x0, y1 = -1.0 + 2.0 * OVERLAY_MARGIN / width, 1.0 - 2.0 * OVERLAY_MARGIN / height
        box = (x0, y1 - 2.0 * th / height, x0 + 2.0 * tw / width, y1)
        GL.glUseProgram(program)
        GL.glUniform4f(uniforms["quad"], *box)
        GL.glUniform4f(uniforms["picture0"], *box)
        GL.glActiveTexture(GL.GL_TEXTURE0)
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.texture)
        GL.glEnable(GL.GL_BLEND)
        GL.glDrawArrays(GL.GL_TRIANGLE_STRIP, 0, 4)
        GL.glDisable(GL.GL_BLEND)

    def abandon(self) -> None:
        """The GL context is gone, and the texture with it; keeps the text for `rebuild`."""
        self.texture = None

    def rebuild(self) -> None:
        """Render the text again into a new texture, in a new GL context."""
        text, self.text = self.text, None
        self.set(text)
