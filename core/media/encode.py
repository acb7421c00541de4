"""The PyAV passes behind fitting a video: one re-encode to a plan, and the stream copy into a new mp4.

Blocking code for the media executor; `stop` is checked at every packet so a cancelled fit ends soon.

Threads: the H.264 decoder runs frame-threaded (PyAV's default is slice threading, which does nothing for
the usual one-slice-per-frame streams, so decoding ran on one core), and x264 gets frame threads too
(PyAV's default makes libx264 use sliced threads: 0.15 s slower on an 8 s 1080p clip, same quality).
Frames are converted by libswscale once, straight to the output size and pixel format, and only when they
differ from it.
"""

from __future__ import annotations

import threading
from fractions import Fraction
from pathlib import Path

import av
from av.video.frame import PictureType

from core.media.fit_plan import Plan, Source
from core.media.probe import VideoInfo

DEFAULT_FPS = Fraction(24)
DEFAULT_AUDIO_RATE = 48000
OUTPUT_PIX_FMT = "yuv420p"
SCALER = "AREA"  # libswscale's area average: the cheapest of its filters here, and made for downscaling
COPYABLE_VIDEO = frozenset({"h264"})  # what a stream copy into mp4 keeps playable on Discord
COPYABLE_AUDIO = frozenset({"aac"})


class Cancelled(Exception):
    """The awaiting task was cancelled; the worker thread stopped at the next packet."""


def source_facts(path: Path, info: VideoInfo) -> Source:
    """What the fit plan needs about `path` (frame rate, bitrates, audio), read with PyAV."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        fps = Fraction(video.average_rate or video.guessed_rate or DEFAULT_FPS)
        audio = container.streams.audio[0] if container.streams.audio else None
        return Source(
            duration=info.duration,
            width=info.width,
            height=info.height,
            fps=fps,
            bit_rate=int(info.size_bytes * 8 / info.duration) if info.duration > 0 else 0,
            audio_codec=audio.codec_context.name if audio is not None else None,
            audio_bit_rate=(audio.bit_rate or 0) if audio is not None else 0,
            audio_rate=(audio.rate or DEFAULT_AUDIO_RATE) if audio is not None else 0,
        )


def copyable(info: VideoInfo, source: Source) -> bool:
    """True when the streams can be copied into an mp4 as they are (H.264, and AAC or no audio)."""
    return info.video_codec in COPYABLE_VIDEO and (
        source.audio_codec is None or source.audio_codec in COPYABLE_AUDIO
    )


def encode(src: Path, dest: Path, plan: Plan, stop: threading.Event) -> None:
    """Re-encode `src` to an H.264 faststart mp4 at `dest` following `plan`, keeping timestamps; the audio
    is copied or re-encoded to AAC as the plan says."""
    with (
        av.open(str(src)) as inp,
        av.open(str(dest), mode="w", format="mp4", options={"movflags": "+faststart"}) as out,
    ):
        vin = inp.streams.video[0]
        vin.codec_context.thread_type = "AUTO"  # frame threads (and slices, where the stream has them)
        vin.codec_context.thread_count = 0  # as many as libavcodec sees cores
        vout = out.add_stream("libx264", rate=vin.average_rate or DEFAULT_FPS)
        vout.width, vout.height, vout.pix_fmt = plan.width, plan.height, OUTPUT_PIX_FMT
        vout.bit_rate = plan.video_kbps * 1000
        vout.codec_context.thread_type = "FRAME"  # x264 frame threads, not sliced threads
        options = {
            "preset": plan.tier.preset,
            "maxrate": f"{plan.video_kbps}k",
            "bufsize": f"{plan.bufsize_kbits}k",
        }
        if plan.tier.params:
            options["x264-params"] = plan.tier.params
        vout.options = options
        encoders: dict[av.stream.Stream, av.stream.Stream] = {vin: vout}
        copies: dict[av.stream.Stream, av.stream.Stream] = {}
        if inp.streams.audio and (plan.copy_audio or plan.audio_kbps):
            ain = inp.streams.audio[0]
            if plan.copy_audio:
                copies[ain] = out.add_stream_from_template(ain)
            else:
                aout = out.add_stream("aac", rate=ain.rate or DEFAULT_AUDIO_RATE)
                aout.layout = "stereo" if ain.channels >= 2 else "mono"
                aout.bit_rate = plan.audio_kbps * 1000
                encoders[ain] = aout
        size = (plan.width, plan.height)
        for packet in inp.demux([*encoders, *copies]):
            if stop.is_set():
                raise Cancelled
            if packet.stream in copies:
                if packet.dts is not None:  # the demuxer's empty end-of-stream packet is not data
                    packet.stream = copies[packet.stream]
                    out.mux(packet)
                continue
            target = encoders[packet.stream]
            for frame in packet.decode():
                if target is vout:
                    if (frame.width, frame.height) != size or frame.format.name != OUTPUT_PIX_FMT:
                        frame = frame.reformat(
                            width=plan.width, height=plan.height, format=OUTPUT_PIX_FMT, interpolation=SCALER
                        )
                    frame.pict_type = PictureType.NONE  # let x264 place keyframes, not the source's GOP
                out.mux(target.encode(frame))
        for target in encoders.values():
            out.mux(target.encode(None))


def remux(src: Path, dest: Path, stop: threading.Event) -> None:
    """Copy the first video stream and the first audio stream of `src`, untouched, into a faststart mp4."""
    with (
        av.open(str(src)) as inp,
        av.open(str(dest), mode="w", format="mp4", options={"movflags": "+faststart"}) as out,
    ):
        wanted = [inp.streams.video[0], *inp.streams.audio[:1]]
        copies = {stream: out.add_stream_from_template(stream) for stream in wanted}
        for packet in inp.demux(wanted):
            if stop.is_set():
                raise Cancelled
            if packet.dts is None:
                continue
            packet.stream = copies[packet.stream]
            out.mux(packet)
