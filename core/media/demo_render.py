"""The demo model's renderer: a real, clearly labelled H.264 mp4 drawn with Pillow and encoded by PyAV,
optionally with an AAC sine tone whose pitch comes from the seed."""

from __future__ import annotations

import colorsys
import functools
import hashlib
import logging
import math
import os
import unicodedata
import uuid
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
from PIL import Image, ImageDraw, ImageFont, ImageOps

log = logging.getLogger(__name__)

DEMO_LABEL = "DEMO — not AI output"
DEMO_SUBLABEL = "Demo (local render, not AI)"
MAX_DRAWN_PROMPT_CHARS = 600
MAX_RENDER_SECONDS = 60
MAX_RENDER_SIDE = 3840
FIRST_FRAME_SECONDS = 1  # how long a given first frame opens (and a last frame closes) the clip
AUDIO_RATE = 48000
TONE_PERIODS = range(96, 192)  # samples per period of the tone: 500 Hz down to 250 Hz at 48 kHz
TONE_AMPLITUDE = 0.2
TONE_FADE_SAMPLES = 480  # 10 ms in and out, so the tone starts and stops without a click

_BOLD_FONTS = ("DejaVuSans-Bold.ttf", "LiberationSans-Bold.ttf", "Arial Bold.ttf")
_REGULAR_FONTS = ("DejaVuSans.ttf", "LiberationSans-Regular.ttf", "Arial.ttf")


@dataclass(frozen=True)
class DemoStyle:
    """Colours and motion of a demo video, derived from the prompt and seed."""

    top: tuple[int, int, int]
    bottom: tuple[int, int, int]
    band: tuple[int, int, int, int]
    disc: tuple[int, int, int]
    band_period: float  # fraction of the frame width
    band_speed: float  # band periods per second
    band_slant: float  # horizontal shift per pixel of height
    orbit: tuple[float, float, float]  # x frequency, y frequency (Hz), phase (radians)


def _rgb(h: float, s: float, v: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, s, v)
    return round(r * 255), round(g * 255), round(b * 255)


def demo_style(prompt: str, seed: int | None) -> DemoStyle:
    """Deterministic colours and motion from a hash of prompt and seed."""
    key = f"{seed if seed is not None else ''}\x00{prompt}".encode("utf-8", "surrogatepass")
    d = hashlib.sha256(key).digest()
    hue = d[0] / 255
    return DemoStyle(
        top=_rgb(hue, 0.55 + d[1] / 800, 0.30 + d[2] / 900),
        bottom=_rgb(hue + 0.12 + d[3] / 1200, 0.65, 0.75 + d[4] / 1200),
        band=(*_rgb(hue + 0.5, 0.35, 0.95), 70 + d[5] // 6),
        disc=_rgb(hue + 0.33 + d[6] / 1500, 0.80, 0.95),
        band_period=0.18 + d[7] / 1000,
        band_speed=0.5 + d[8] / 200,
        band_slant=(d[9] / 255 - 0.5) * 1.4,
        orbit=(0.15 + d[10] / 1000, 0.2 + d[11] / 900, d[12] / 255 * 2 * math.pi),
    )


@functools.lru_cache(maxsize=32)
def _font(size: int, bold: bool) -> ImageFont.FreeTypeFont:
    """A scalable font: DejaVu/Liberation when installed, else Pillow's bundled one."""
    for name in _BOLD_FONTS if bold else _REGULAR_FONTS:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    font = ImageFont.load_default(size)
    if not isinstance(font, ImageFont.FreeTypeFont):
        raise RuntimeError("the demo renderer needs Pillow built with FreeType")
    return font


def _line_height(font: ImageFont.FreeTypeFont) -> int:
    ascent, descent = font.getmetrics()
    return ascent + descent


def _text_width(font: ImageFont.FreeTypeFont, text: str) -> float:
    return font.getlength(text)


def _drawable(prompt: str) -> str:
    """The prompt without control/format characters and with collapsed whitespace."""
    kept = (" " if ch.isspace() else ch for ch in prompt[: MAX_DRAWN_PROMPT_CHARS * 2])
    cleaned = "".join(ch for ch in kept if unicodedata.category(ch)[0] != "C")
    cleaned = " ".join(cleaned.split())
    return cleaned[:MAX_DRAWN_PROMPT_CHARS] or "(empty prompt)"


def wrap_text(text: str, font: ImageFont.FreeTypeFont, max_width: float, max_lines: int) -> list[str]:
    """Greedy word wrap to `max_width` pixels; the last kept line ends with '…' when text was cut."""
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if _text_width(font, candidate) <= max_width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = ""
        for ch in word:  # break words that are too long on their own
            if current and _text_width(font, current + ch) > max_width:
                lines.append(current)
                current = ""
            current += ch
        if len(lines) > max_lines:
            break
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and _text_width(font, last + "…") > max_width:
            last = last[:-1]
        lines = [*lines[: max_lines - 1], last.rstrip() + "…"]
    return lines


@dataclass(frozen=True)
class _Layer:
    """A pre-rendered overlay: RGB pixels plus an alpha mask, pasted at `box` on every frame."""

    rgb: Image.Image
    alpha: Image.Image
    box: tuple[int, int]

    @classmethod
    def from_rgba(cls, image: Image.Image, box: tuple[int, int]) -> _Layer:
        """Split an RGBA image into pixels and mask."""
        return cls(image.convert("RGB"), image.getchannel("A"), box)

    def paste_on(self, frame: Image.Image) -> None:
        """Blend the layer onto `frame` in place."""
        frame.paste(self.rgb, self.box, self.alpha)


def _panel(
    lines: list[str], font: ImageFont.FreeTypeFont, colour: tuple[int, int, int], pad: int, width: int = 0
) -> Image.Image:
    """RGBA image: a translucent dark box holding `lines` of text."""
    line_h = _line_height(font) + pad // 3
    text_w = max(round(_text_width(font, line)) for line in lines)
    size = (width or text_w + 2 * pad, line_h * len(lines) + 2 * pad - pad // 3)
    box = Image.new("RGBA", size, (0, 0, 0, 165))
    text = Image.new("RGBA", size, (*colour, 0))
    draw = ImageDraw.Draw(text)
    for i, line in enumerate(lines):
        draw.text((pad, pad + i * line_h), line, font=font, fill=(*colour, 255))
    return Image.alpha_composite(box, text)


def _background_strip(style: DemoStyle, width: int, height: int, period: int) -> Image.Image:
    """Gradient with diagonal translucent bands, `period` pixels wider than the frame so it can scroll."""
    strip_w = width + period
    mask = Image.linear_gradient("L").resize((strip_w, height))
    top = Image.new("RGB", (strip_w, height), style.top)
    strip = Image.composite(Image.new("RGB", (strip_w, height), style.bottom), top, mask)
    bands = Image.new("RGBA", (strip_w, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(bands)
    slant = style.band_slant * height
    band_w = period / 2
    reach = period * (1 + math.ceil(abs(slant) / period))
    for x in range(-reach, strip_w + reach, period):
        corners = [(x, 0), (x + band_w, 0), (x + band_w + slant, height), (x + slant, height)]
        draw.polygon(corners, fill=style.band)
    return Image.alpha_composite(strip.convert("RGBA"), bands).convert("RGB")


_YELLOW = (255, 214, 10)
_WHITE = (255, 255, 255)
_BLACK = (0, 0, 0)


class _Scene:
    """Everything drawn once per video; `frame(i)` composes frame i from it."""

    def __init__(
        self,
        prompt: str,
        width: int,
        height: int,
        fps: int,
        total: int,
        seed: int | None,
        first_frame: Path | None = None,
        last_frame: Path | None = None,
    ) -> None:
        self.width, self.height, self.fps, self.total = width, height, fps, total
        self.first_frame = _fitted_image(first_frame, width, height) if first_frame is not None else None
        self.last_frame = _fitted_image(last_frame, width, height) if last_frame is not None else None
        # Frames each given image is held: a second, or a third of a short clip that has both.
        self.held = fps * FIRST_FRAME_SECONDS
        if first_frame is not None and last_frame is not None:
            self.held = min(self.held, total // 3)
        self.style = demo_style(prompt, seed)
        short = min(width, height)
        self.margin = m = max(8, short // 24)
        self.period = max(16, round(width * self.style.band_period))
        self.strip = _background_strip(self.style, width, height, self.period)
        self.radius = max(10, short // 7)

        label = _panel([DEMO_LABEL], _font(max(12, short // 15), bold=True), _YELLOW, pad=max(4, short // 60))
        self.label = _Layer.from_rgba(label, (m, m))

        self.footer_font = _font(max(10, short // 28), bold=False)
        self.bar_h = max(4, short // 90)
        self.bar_y = height - m - self.bar_h
        self.footer_y = self.bar_y - m // 2 - _line_height(self.footer_font)
        self.sublabel = f"{DEMO_SUBLABEL} · {width}x{height}"
        self.sublabel_x = width - m - round(_text_width(self.footer_font, self.sublabel))

        prompt_font = _font(max(11, short // 20), bold=False)
        pad = max(4, short // 48)
        max_lines = max(2, int(height * 0.36 / (_line_height(prompt_font) + pad // 3)))
        lines = wrap_text(_drawable(prompt), prompt_font, width - 2 * m - 2 * pad, max_lines)
        text = _panel(lines, prompt_font, _WHITE, pad=pad, width=width - 2 * m)
        top = max(label.height + 2 * m, self.footer_y - m - text.height)
        self.prompt = _Layer.from_rgba(text, (m, top))

    def frame(self, index: int) -> Image.Image:
        """Frame `index` (0-based) as an RGB image."""
        t = index / self.fps
        if self.first_frame is not None and index < self.held:  # the given image opens the clip
            image = self.first_frame.copy()
            draw = ImageDraw.Draw(image)
        elif self.last_frame is not None and index >= self.total - self.held:  # ...and this one ends it
            image = self.last_frame.copy()
            draw = ImageDraw.Draw(image)
        else:
            offset = round(t * self.style.band_speed * self.period) % self.period
            image = self.strip.crop((offset, 0, offset + self.width, self.height))
            draw = ImageDraw.Draw(image)
            fx, fy, phase = self.style.orbit
            r, m = self.radius, self.margin
            cx = self.width / 2 + (self.width / 2 - r - m) * math.sin(2 * math.pi * fx * t + phase)
            cy = self.height / 2 + (self.height / 2 - r - m) * math.cos(2 * math.pi * fy * t + phase)
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=self.style.disc, outline=_WHITE, width=3)
        self.prompt.paste_on(image)
        self.label.paste_on(image)
        self._footer(draw, index)
        return image

    def _footer(self, draw: ImageDraw.ImageDraw, index: int) -> None:
        """Progress bar, elapsed/total seconds and the demo sub-label."""
        m, y = self.margin, self.bar_y
        done = (index + 1) / self.total
        draw.rectangle((m, y, self.width - m, y + self.bar_h), fill=_BLACK)
        draw.rectangle((m, y, m + round((self.width - 2 * m) * done), y + self.bar_h), fill=_YELLOW)
        clock = f"{(index + 1) / self.fps:.1f} s / {self.total / self.fps:g} s"
        style = {"font": self.footer_font, "fill": _WHITE, "stroke_width": 2, "stroke_fill": _BLACK}
        draw.text((m, self.footer_y), clock, **style)
        draw.text((self.sublabel_x, self.footer_y), self.sublabel, **style)


def _fitted_image(path: Path, width: int, height: int) -> Image.Image:
    """The image scaled to fit the frame, centred on black (its whole picture stays visible)."""
    with Image.open(path) as source:
        picture = ImageOps.contain(source.convert("RGB"), (width, height))
    canvas = Image.new("RGB", (width, height), _BLACK)
    canvas.paste(picture, ((width - picture.width) // 2, (height - picture.height) // 2))
    return canvas


def tone_period(seed: int | None) -> int:
    """Samples per period of the demo tone at AUDIO_RATE (its pitch), derived from the seed alone."""
    digest = hashlib.sha256(str(seed).encode()).digest()
    return TONE_PERIODS[int.from_bytes(digest[:4], "big") % len(TONE_PERIODS)]


def _tone(seed: int | None, samples: int) -> array:
    """`samples` mono float samples of a sine at the seed's pitch, faded in and out."""
    period = tone_period(seed)
    cycle = array("f", (TONE_AMPLITUDE * math.sin(2 * math.pi * k / period) for k in range(period)))
    tone = cycle * (samples // period + 1)
    del tone[samples:]
    fade = min(TONE_FADE_SAMPLES, samples // 2)
    for k in range(fade):
        tone[k] *= k / fade
        tone[samples - 1 - k] *= k / fade
    return tone


def _audio_frame(samples: array, start: int, end: int) -> av.AudioFrame:
    """Samples[start:end] as a mono float frame whose pts is `start` (in 1/AUDIO_RATE)."""
    frame = av.AudioFrame(format="flt", layout="mono", samples=end - start)
    frame.planes[0].update(samples[start:end].tobytes().ljust(frame.planes[0].buffer_size, b"\0"))
    frame.sample_rate, frame.pts = AUDIO_RATE, start
    return frame


def check_renderer() -> None:
    """RuntimeError unless this PyAV has libx264 and Pillow can load a scalable font."""
    if "libx264" not in av.codecs_available:
        raise RuntimeError("this PyAV build has no libx264 encoder")
    _font(12, bold=True)


def validate_render_args(duration: int, width: int, height: int, fps: int = 24) -> None:
    """ValueError naming the field when the demo renderer cannot make this video."""
    if not 1 <= duration <= MAX_RENDER_SECONDS:
        raise ValueError(f"duration must be 1-{MAX_RENDER_SECONDS} s, got {duration}")
    if not 1 <= fps <= 60:
        raise ValueError(f"fps must be 1-60, got {fps}")
    for name, value in (("width", width), ("height", height)):
        if not 16 <= value <= MAX_RENDER_SIDE or value % 2:
            raise ValueError(f"{name} must be an even number of pixels in 16-{MAX_RENDER_SIDE}, got {value}")


def render_demo_video(
    dest: Path,
    *,
    prompt: str,
    duration: int,
    width: int,
    height: int,
    fps: int = 24,
    seed: int | None = None,
    first_frame: Path | None = None,
    last_frame: Path | None = None,
    audio: bool = False,
    on_frame: Callable[[int, int], None] | None = None,
) -> None:
    """Render a labelled H.264 test-pattern mp4 derived from `prompt` to `dest` (atomic rename); with
    `first_frame`, that image (fitted to the frame, still labelled) opens the clip for its first second,
    with `last_frame` another one closes it (for a clip of under 3 s, each takes a third); with `audio`,
    an AAC sine tone at the seed's pitch (`tone_period`) plays throughout, else there is no audio stream.

    `on_frame(done, total)` is called after each encoded frame; an exception it raises aborts the
    render, removes the partial file and propagates.
    """
    validate_render_args(duration, width, height, fps)
    dest = Path(dest)
    total = duration * fps
    scene = _Scene(prompt, width, height, fps, total, seed, first_frame, last_frame)
    tone = _tone(seed, duration * AUDIO_RATE) if audio else None
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:12]}.part")
    try:
        with av.open(str(tmp), mode="w", format="mp4", options={"movflags": "+faststart"}) as container:
            stream = container.add_stream("libx264", rate=fps)
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            stream.options = {"preset": "ultrafast", "crf": "26"}
            sound = None
            if tone is not None:
                sound = container.add_stream("aac", rate=AUDIO_RATE)
                sound.layout, sound.bit_rate = "mono", 96_000
            for index in range(total):
                frame = av.VideoFrame.from_image(scene.frame(index))
                frame.pts = index
                container.mux(stream.encode(frame))
                if sound is not None:  # the tone under this frame, so the two stay interleaved
                    start, end = (index * AUDIO_RATE // fps, (index + 1) * AUDIO_RATE // fps)
                    container.mux(sound.encode(_audio_frame(tone, start, end)))
                if on_frame is not None:
                    on_frame(index + 1, total)
            container.mux(stream.encode(None))
            if sound is not None:
                container.mux(sound.encode(None))
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    log.debug("rendered demo video %s (%dx%d, %d s)", dest.name, width, height, duration)
