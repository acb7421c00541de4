"""The sound of a joined video: one AAC track made of each clip's sound over its kept span, or silence.

Blocking code for the media executor (called by core.media.join); `stop` is checked at every frame.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from core.media.encode import Cancelled

BIT_RATE = {"mono": 96_000, "stereo": 160_000}


@dataclass(frozen=True)
class AudioPart:
    """One clip's share of the track: its time span (seconds of its own timeline) and where it goes."""

    path: Path | None  # None: the clip has no sound, the span is silence
    start: Fraction
    end: Fraction
    at: Fraction  # where the span starts in the joined video


@dataclass(frozen=True)
class AudioPlan:
    """The joined track's format and parts, in order."""

    rate: int
    layout: str
    parts: tuple[AudioPart, ...]


def encode_audio(
    out: av.container.OutputContainer, plan: AudioPlan, stop: threading.Event
) -> list[av.Packet]:
    """Add an AAC stream to `out` and return its packets (not yet muxed): every part's samples, each
    part exactly as long as its span (cut or padded with silence), back to back from time 0."""
    stream = out.add_stream("aac", rate=plan.rate)
    stream.layout, stream.bit_rate = plan.layout, BIT_RATE[plan.layout]
    time_base = Fraction(1, plan.rate)
    packets: list[av.Packet] = []
    written = 0
    for part in plan.parts:
        # Each part ends where its video span ends, rounded once: no drift over the parts.
        count = round((part.at + part.end - part.start) * plan.rate) - written
        for frame in _part_frames(part, plan, count, stop):
            frame.pts, frame.time_base = written, time_base
            written += frame.samples
            packets.extend(stream.encode(frame))
    packets.extend(stream.encode(None))
    return packets


def _part_frames(
    part: AudioPart, plan: AudioPlan, count: int, stop: threading.Event
) -> Iterator[av.AudioFrame]:
    """`count` samples of the part: its sound from the span's start on, then silence to the end."""
    if count <= 0:
        return
    fifo = av.AudioFifo()
    if part.path is not None:
        _decode_into(fifo, part, plan, stop)
    kept = fifo.read(min(count, fifo.samples)) if fifo.samples else None
    if kept is not None:
        yield kept
        count -= kept.samples
    if count > 0:
        yield silence(count, plan.layout, plan.rate)


def _decode_into(fifo: av.AudioFifo, part: AudioPart, plan: AudioPlan, stop: threading.Event) -> None:
    """Decode the part's audio into `fifo`, resampled, starting at the span's start."""
    resampler = av.AudioResampler(format="fltp", layout=plan.layout, rate=plan.rate)
    skip = 0
    with av.open(str(part.path)) as inp:
        started = False
        for frame in itertools.chain(inp.decode(inp.streams.audio[0]), [None]):
            if stop.is_set():
                raise Cancelled
            if not started and frame is not None and frame.pts is not None:
                started = True
                lead = round((frame.pts * frame.time_base - part.start) * plan.rate)
                if lead > 0:  # the sound starts after the span: silence until it does
                    fifo.write(silence(lead, plan.layout, plan.rate))
                skip = max(0, -lead)
            for out in resampler.resample(frame):
                out.pts, out.time_base = None, Fraction(1, plan.rate)
                fifo.write(out)
    if skip:
        fifo.read(min(skip, fifo.samples))


def silence(samples: int, layout: str, rate: int) -> av.AudioFrame:
    """`samples` of silence as a planar float frame."""
    frame = av.AudioFrame(format="fltp", layout=layout, samples=samples)
    for plane in frame.planes:
        plane.update(bytes(plane.buffer_size))
    frame.sample_rate, frame.time_base = rate, Fraction(1, rate)
    return frame
