"""How a clip is fitted under a byte cap: the video bitrate, the frame size and the x264 settings.

Pure arithmetic on what the source is; `core.media.transcode` runs it and `core.media.encode` applies it.

Rate control: x264's one-pass ABR aims at `bitrate × duration` bits, and its VBV model (`maxrate` =
bitrate, `bufsize` = `vbv_seconds` of it) never lets the stream exceed that by more than the buffer's
initial fill (x264's default is 90 % of the buffer). So the bitrate is set for the byte budget left after
the audio and the mp4 index, minus a small margin, as if the clip were that much longer: the first attempt
lands under the cap unless x264 cannot hold the VBV at all (a bitrate far too low for the frame).

Speed: the x264 preset is the best one whose estimated time, on the machine's cores, stays within half the
clip's duration (e.g. ≤ 4 s for an 8 s clip); when none does (a 4k source on 2 cores), the fastest. The
costs were measured on the 2-core development machine (benchmarks/README.md, fit_bench): a faster machine
gets the preset this one could afford and finishes sooner; a slower one may take longer than planned.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction

SAFETY_MARGIN = 0.98  # of the bytes left for video: covers the estimates of audio and index sizes
MIN_BITS_PER_PIXEL = 0.05  # below this per frame, a smaller frame looks better than a blurrier one
SHORT_SIDES = (1080, 720, 540, 360)  # downscale steps for the short side
RETRY_FACTOR = 0.85  # extra headroom when an attempt came out too big anyway
VBV_INIT = 0.9  # x264's default initial VBV buffer fill (share of bufsize)
MP4_FIXED_BYTES = 4096  # ftyp, moov and track headers, mdat header
MP4_BYTES_PER_SAMPLE = 24  # stsz, stts/ctts, stss and chunk-offset entries, rounded up
AUDIO_ENCODE_SLACK = 1.1  # the AAC encoder's average bitrate runs a little over its target
AUDIO_COPY_UP_TO = 1.5  # copy AAC audio whose bitrate is at most this × the re-encode's bitrate
AAC_FRAME_SAMPLES = 1024
REALTIME_FACTOR = 0.5  # a fit should take at most this share of the clip's duration
MIN_DEADLINE = 1.0  # seconds; short clips may take this long
PARALLEL_EFFICIENCY = 0.9  # decode and encode threads keep this share of the cores busy

# CPU cost on the development machine (2 cores), from fit_bench runs: decoding H.264 costs per decoded
# pixel and per compressed bit (CABAC), the libswscale resize per source pixel.
DECODE_NS_PER_PIXEL = 1.0
DECODE_NS_PER_BIT = 16.0
SCALE_NS_PER_PIXEL = 0.7


@dataclass(frozen=True)
class Tier:
    """One x264 speed/quality setting: a preset plus x264-params on top of it."""

    name: str
    preset: str
    params: str
    ns_per_pixel: float  # CPU ns per encoded pixel on the development machine, at ~0.2 bits per pixel


# Fastest first. "ultrafast+" is ultrafast with the three cheap tools that matter most at these bitrates:
# CABAC (~10 % fewer bits), adaptive quantisation and the deblocking filter, plus scene-cut detection.
# On the grainy 1080p benchmark clip it matches veryfast's SSIM at ~1/3 of veryfast's encode CPU.
TIERS = (
    Tier("ultrafast+", "ultrafast", "cabac=1:deblock=1:aq-mode=1:scenecut=40", 9.0),
    Tier("superfast", "superfast", "", 15.0),
    Tier("veryfast", "veryfast", "", 25.0),
    Tier("faster", "faster", "", 38.0),
)


@dataclass(frozen=True)
class Source:
    """What the plan needs to know about the clip to fit."""

    duration: float  # seconds
    width: int
    height: int
    fps: Fraction
    bit_rate: int  # of the whole file, bits per second
    audio_codec: str | None  # None: no audio stream
    audio_bit_rate: int  # 0 when unknown
    audio_rate: int  # samples per second


@dataclass(frozen=True)
class Plan:
    """One encode attempt."""

    width: int
    height: int
    video_kbps: int
    bufsize_kbits: int
    tier: Tier
    copy_audio: bool
    audio_kbps: int  # of the AAC re-encode; 0 when the audio is copied or there is none


def machine_cores() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def vbv_seconds(duration: float) -> float:
    """The VBV buffer in seconds of bitrate: 1/16 of the clip, between 0.25 s and 1 s (0.5 s for 8 s)."""
    return min(1.0, max(0.25, duration / 16))


def audio_plan(src: Source, audio_kbps: int) -> tuple[bool, int, float]:
    """(copy the audio?, re-encode kbps, estimated audio bytes)."""
    if src.audio_codec is None or audio_kbps <= 0:
        return False, 0, 0.0
    if src.audio_codec == "aac" and 0 < src.audio_bit_rate <= audio_kbps * 1000 * AUDIO_COPY_UP_TO:
        return True, 0, src.audio_bit_rate * src.duration / 8
    return False, audio_kbps, audio_kbps * 1000 * src.duration / 8 * AUDIO_ENCODE_SLACK


def container_bytes(src: Source) -> float:
    """The mp4's own bytes: fixed headers plus one index entry per video frame and audio frame."""
    samples = float(src.fps) * src.duration
    if src.audio_codec is not None:
        samples += src.audio_rate * src.duration / AAC_FRAME_SAMPLES
    return MP4_FIXED_BYTES + MP4_BYTES_PER_SAMPLE * samples


def video_kbps_for(max_bytes: int, src: Source, audio_bytes: float) -> int:
    """The target video bitrate that keeps the whole file under `max_bytes` (may be ≤ 0: impossible)."""
    video_bytes = (max_bytes - audio_bytes - container_bytes(src)) * SAFETY_MARGIN
    return int(video_bytes * 8 / (src.duration + VBV_INIT * vbv_seconds(src.duration)) / 1000)


def smallest_file(min_video_kbps: int, src: Source, audio_bytes: float) -> int:
    """The smallest cap a `min_video_kbps` encode is planned for (for the error message)."""
    video_bytes = min_video_kbps * 1000 / 8 * (src.duration + VBV_INIT * vbv_seconds(src.duration))
    return int(video_bytes / SAFETY_MARGIN + audio_bytes + container_bytes(src))


def frame_size(width: int, height: int, video_kbps: int, fps: Fraction) -> tuple[int, int]:
    """The largest even frame size, never upscaled, with enough bits per pixel (else the smallest step)."""
    short = min(width, height)
    candidates = [short, *(side for side in SHORT_SIDES if side < short)]
    for side in candidates:
        scale = side / short
        w, h = max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)
        if video_kbps * 1000 / (w * h * float(fps)) >= MIN_BITS_PER_PIXEL:
            break
    return w, h


def estimated_seconds(src: Source, width: int, height: int, tier: Tier, cores: int) -> float:
    """Wall seconds a fit with `tier` should take on `cores` cores of the development machine."""
    frames = float(src.fps) * src.duration
    source_pixels = src.width * src.height * frames
    cpu_ns = source_pixels * DECODE_NS_PER_PIXEL + src.bit_rate * src.duration * DECODE_NS_PER_BIT
    if (width, height) != (src.width, src.height):
        cpu_ns += source_pixels * SCALE_NS_PER_PIXEL
    cpu_ns += width * height * frames * tier.ns_per_pixel
    return cpu_ns / 1e9 / (cores * PARALLEL_EFFICIENCY)


def choose_tier(src: Source, width: int, height: int, cores: int) -> Tier:
    """The slowest (best) tier expected to finish within REALTIME_FACTOR of the clip; else the fastest."""
    deadline = max(MIN_DEADLINE, REALTIME_FACTOR * src.duration)
    for tier in reversed(TIERS):
        if estimated_seconds(src, width, height, tier, cores) <= deadline:
            return tier
    return TIERS[0]


def plan_fit(
    src: Source, max_bytes: int, audio_kbps: int, cores: int, *, video_kbps: int | None = None
) -> Plan:
    """The encode for `src` under `max_bytes` (or at `video_kbps`, for a retry)."""
    copy_audio, encode_kbps, audio_bytes = audio_plan(src, audio_kbps)
    kbps = video_kbps if video_kbps is not None else video_kbps_for(max_bytes, src, audio_bytes)
    width, height = frame_size(src.width, src.height, max(kbps, 1), src.fps)
    tier = choose_tier(src, width, height, cores)
    buffer = max(1, round(kbps * vbv_seconds(src.duration)))
    return Plan(width, height, kbps, buffer, tier, copy_audio, encode_kbps)
