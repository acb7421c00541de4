"""Join two clips into one browser-playable mp4: `first`, then `second` (an extension continuing it).

Video: a stream copy when the two H.264 streams can share one track (same size, yuv420p, same SPS/PPS,
which two clips of one model at one size usually have): a fraction of a second, no quality lost. A
dropped duplicate frame then goes from the end of `first` (it is the same picture as the start of
`second`, and the last frame in decode order is referenced by nothing, while `second`'s first frame is
the keyframe the rest of it needs). Otherwise both clips are decoded and re-encoded to one H.264 track
at `first`'s size, and the duplicate goes from the start of `second`.

Audio: when either clip has sound, one AAC track spans the whole video: each clip's sound over exactly
its video span, silence where a clip has none. It is always re-encoded, so the two tracks need not
match and no encoder priming lands in the middle; it is small work next to the video.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import threading
import time
import uuid
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from core.errors import ErrorCategory, GenerationError
from core.media.encode import DEFAULT_FPS, OUTPUT_PIX_FMT, SCALER, Cancelled
from core.media.executor import run_media
from core.media.join_audio import AudioPart, AudioPlan, encode_audio
from core.media.probe import probe_video

log = logging.getLogger(__name__)

CRF = "18"  # the re-encode of an already compressed clip: keep it visually lossless
PRESET = "veryfast"


@dataclass(frozen=True)
class Clip:
    """What a join needs to know about one input's video stream, times in seconds of its own timeline."""

    path: Path
    codec: str
    width: int
    height: int
    pix_fmt: str
    extradata: bytes
    time_base: Fraction
    rate: Fraction
    start: Fraction  # the first frame's presentation time
    second_frame: Fraction  # the second frame's (the start when it has one frame)
    end: Fraction  # the end of the last frame
    end_without_last: Fraction  # the end when the last packet in decode order is left out
    last_is_final: bool  # that packet is the last frame shown (so nothing needs it)
    first_dts: Fraction
    last_dts: Fraction
    dts_before_last: Fraction | None  # None: it has one packet
    audio_rate: int  # 0: no audio stream
    audio_channels: int


@dataclass(frozen=True)
class Span:
    """The part of a clip that is kept, and where it starts in the joined video (seconds)."""

    start: Fraction
    end: Fraction
    at: Fraction

    @property
    def shift(self) -> Fraction:
        """What to add to a time of the clip to get its time in the joined video."""
        return self.at - self.start


async def join_clips(first: Path, second: Path, dest: Path, *, drop_first_frame: bool) -> float:
    """Write `first` followed by `second` to `dest` as one faststart H.264 (+ AAC) mp4 (atomically) and
    return its duration in seconds; with `drop_first_frame`, one frame fewer at the seam (`second` opens
    with `first`'s last frame). GenerationError (GENERATION_FAILED) when an input is not a readable
    video or the join fails."""
    stop = threading.Event()
    dest = Path(dest)
    try:
        a, b = await run_media(_inspect_both, Path(first), Path(second))
        if stream_copyable(a, b, drop_first_frame):
            try:
                return await run_media(_join, a, b, dest, drop_first_frame, True, stop)
            except GenerationError as exc:  # a stream the checks let through that the muxer refused
                log.warning("join %s: the stream copy failed (%s); re-encoding", dest.name, exc)
        return await run_media(_join, a, b, dest, drop_first_frame, False, stop, whole_machine=True)
    except asyncio.CancelledError:
        stop.set()  # the thread cannot be killed; make it give up and delete its temp file
        raise


def stream_copyable(a: Clip, b: Clip, drop_first_frame: bool) -> bool:
    """True when `b`'s video packets can follow `a`'s in one track as they are."""
    same = (
        a.codec == b.codec == "h264"
        and a.pix_fmt == b.pix_fmt == OUTPUT_PIX_FMT
        and (a.width, a.height) == (b.width, b.height)
        and a.extradata == b.extradata != b""
    )
    if not same or (drop_first_frame and (not a.last_is_final or a.dts_before_last is None)):
        return False
    a_end, a_last_dts = (a.end_without_last, a.dts_before_last) if drop_first_frame else (a.end, a.last_dts)
    return b.first_dts - b.start + a_end - a.start > a_last_dts - a.start  # decode times keep rising


def spans(a: Clip, b: Clip, drop_first_frame: bool, copy: bool) -> tuple[Span, Span]:
    """Where each clip's kept part goes in the joined video."""
    a_end = a.end_without_last if drop_first_frame and copy else a.end
    b_start = b.second_frame if drop_first_frame and not copy else b.start
    return Span(a.start, a_end, Fraction(0)), Span(b_start, b.end, a_end - a.start)


def _inspect_both(first: Path, second: Path) -> tuple[Clip, Clip]:
    return inspect_clip(first), inspect_clip(second)


def inspect_clip(path: Path) -> Clip:
    """Read a clip's video stream facts and scan its packet times (no decoding); GenerationError if it
    is not a readable video."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise _failed(f"{path.name} has no video stream")
            video = container.streams.video[0]
            tb = Fraction(video.time_base)
            times: list[tuple[int, int, int]] = []  # (dts, pts, end) in decode order
            for packet in container.demux(video):
                if packet.pts is not None and packet.dts is not None:
                    times.append((packet.dts, packet.pts, packet.pts + (packet.duration or 0)))
            if not times:
                raise _failed(f"{path.name} has no video frames")
            starts = sorted(pts for _, pts, _ in times)
            ctx = video.codec_context
            audio = container.streams.audio[0] if container.streams.audio else None
            return Clip(
                path=path,
                codec=ctx.name,
                width=ctx.width,
                height=ctx.height,
                pix_fmt=ctx.pix_fmt or "",
                extradata=bytes(ctx.extradata or b""),
                time_base=tb,
                rate=Fraction(video.average_rate or video.guessed_rate or DEFAULT_FPS),
                start=starts[0] * tb,
                second_frame=starts[min(1, len(starts) - 1)] * tb,
                end=max(end for _, _, end in times) * tb,
                end_without_last=max((end for _, _, end in times[:-1]), default=starts[0]) * tb,
                last_is_final=times[-1][1] == starts[-1],
                first_dts=times[0][0] * tb,
                last_dts=times[-1][0] * tb,
                dts_before_last=times[-2][0] * tb if len(times) > 1 else None,
                audio_rate=(audio.rate or 0) if audio is not None else 0,
                audio_channels=audio.channels if audio is not None else 0,
            )
    except (av.FFmpegError, OSError) as exc:
        raise _failed(f"{path.name} is not a readable video: {exc}") from exc


def _join(a: Clip, b: Clip, dest: Path, drop: bool, copy: bool, stop: threading.Event) -> float:
    """The blocking body of join_clips."""
    started = time.monotonic()
    span_a, span_b = spans(a, b, drop, copy)
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:12]}.part")
    try:
        with av.open(str(tmp), mode="w", format="mp4", options={"movflags": "+faststart"}) as out:
            vout = _copy_stream(out, a) if copy else _encoder_stream(out, a, b)  # video first
            plan = _audio_plan([(a, span_a), (b, span_b)])
            muxer = _Muxer(out, encode_audio(out, plan, stop) if plan is not None else [])
            if copy:
                _copy_video(muxer, vout, [(a, span_a, drop), (b, span_b, False)], stop)
            else:
                _reencode_video(muxer, vout, [(a, span_a), (b, span_b)], stop)
            muxer.finish()
        duration = probe_video(tmp).duration
        os.replace(tmp, dest)
    except (av.FFmpegError, OSError) as exc:
        raise _failed(f"joining {a.path.name} and {b.path.name} failed: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    log.info(
        "joined %s and %s into %s (%.2f s) by %s in %.2f s",
        a.path.name,
        b.path.name,
        dest.name,
        duration,
        "stream copy" if copy else "re-encode",
        time.monotonic() - started,
    )
    return duration


def _audio_plan(parts: list[tuple[Clip, Span]]) -> AudioPlan | None:
    """One track over every part when any clip has sound (at its rate; stereo if any is); else None."""
    sounding = [clip for clip, _ in parts if clip.audio_rate]
    if not sounding:
        return None
    return AudioPlan(
        rate=sounding[0].audio_rate,
        layout="stereo" if any(clip.audio_channels >= 2 for clip in sounding) else "mono",
        parts=tuple(
            AudioPart(clip.path if clip.audio_rate else None, span.start, span.end, span.at)
            for clip, span in parts
        ),
    )


class _Muxer:
    """Writes the video packets, each after the audio packets that start before it (so the two
    interleave in the file and a player can start on its first bytes)."""

    def __init__(self, out: av.container.OutputContainer, audio: list[av.Packet]) -> None:
        self.out = out
        self.audio = audio
        self.next = 0

    def video(self, packets: list[av.Packet]) -> None:
        """Mux these video packets, preceded by the audio due before each."""
        for packet in packets:
            if packet.dts is not None:
                self._audio_until(packet.dts * packet.time_base)
            self.out.mux(packet)

    def finish(self) -> None:
        """Mux the rest of the audio."""
        self._audio_until(None)

    def _audio_until(self, seconds: Fraction | None) -> None:
        while self.next < len(self.audio):
            packet = self.audio[self.next]
            if seconds is not None and packet.dts * packet.time_base >= seconds:
                break
            self.out.mux(packet)
            self.next += 1


def _copy_stream(out: av.container.OutputContainer, a: Clip) -> av.VideoStream:
    """A video stream taking `a`'s packets as they are."""
    with av.open(str(a.path)) as template:
        return out.add_stream_from_template(template.streams.video[0])


def _encoder_stream(out: av.container.OutputContainer, a: Clip, b: Clip) -> av.VideoStream:
    """An H.264 encoder at `a`'s size and rate, in a time base that holds both clips' times exactly."""
    vout = out.add_stream("libx264", rate=a.rate)
    vout.width, vout.height, vout.pix_fmt = a.width, a.height, OUTPUT_PIX_FMT
    tb = Fraction(1, math.lcm(a.time_base.denominator, b.time_base.denominator))
    vout.time_base = tb if tb.denominator <= 1_000_000 else Fraction(1, 90_000)
    vout.codec_context.thread_type = "FRAME"  # x264 frame threads, as in core.media.encode
    vout.options = {"preset": PRESET, "crf": CRF}
    return vout


def _copy_video(
    muxer: _Muxer, vout: av.VideoStream, parts: list[tuple[Clip, Span, bool]], stop: threading.Event
) -> None:
    """Copy each clip's video packets, shifted onto the joined timeline (`drop_last`: but its last)."""
    for clip, span, drop_last in parts:
        with av.open(str(clip.path)) as inp:
            vin = inp.streams.video[0]
            shift = round(span.shift / Fraction(vin.time_base))
            held: list[av.Packet] = []  # one packet behind, so the last one can be left out
            for packet in inp.demux(vin):
                if stop.is_set():
                    raise Cancelled
                if packet.pts is None or packet.dts is None:
                    continue
                packet.pts += shift
                packet.dts += shift
                packet.stream = vout
                muxer.video(held)
                held = [packet]
            if not drop_last:
                muxer.video(held)


def _reencode_video(
    muxer: _Muxer, vout: av.VideoStream, parts: list[tuple[Clip, Span]], stop: threading.Event
) -> None:
    """Decode each clip's kept frames and encode them into one H.264 track (scaled to its size)."""
    size = (vout.width, vout.height)
    rate = vout.codec_context.framerate or DEFAULT_FPS
    for clip, span in parts:
        with av.open(str(clip.path)) as inp:
            vin = inp.streams.video[0]
            vin.codec_context.thread_type = "AUTO"
            tb_in = Fraction(vin.time_base)
            for frame in inp.decode(vin):
                if stop.is_set():
                    raise Cancelled
                if frame.pts is None or frame.pts * tb_in < span.start:  # the dropped duplicate
                    continue
                duration = frame.duration * tb_in if frame.duration else 1 / Fraction(rate)
                if (frame.width, frame.height) != size or frame.format.name != OUTPUT_PIX_FMT:
                    frame = frame.reformat(*size, format=OUTPUT_PIX_FMT, interpolation=SCALER)
                when = frame.pts * tb_in + span.shift
                frame.pts = round(when / vout.time_base)
                frame.duration = round(duration / vout.time_base)
                frame.time_base = vout.time_base
                frame.pict_type = av.video.frame.PictureType.NONE
                muxer.video(vout.encode(frame))
    muxer.video(vout.encode(None))


def _failed(detail: str) -> GenerationError:
    return GenerationError(ErrorCategory.GENERATION_FAILED, detail)
