"""Shaping a Veo generate_videos call on Vertex AI: the source (prompt, first frame, clip to extend) and the
config, built with google-genai's types so the SDK writes the wire body.

What the SDK sends (google-genai 3.6.1 `models.py`, `_GenerateVideosSource_to_vertex`,
`_GenerateVideosConfig_to_vertex`, `_Image_to_vertex`, `_Video_to_vertex`):
  source.image          -> instances[0].image     {bytesBase64Encoded, mimeType}
  source.video          -> instances[0].video     {bytesBase64Encoded, mimeType}  (native extension)
  config.last_frame     -> instances[0].lastFrame {bytesBase64Encoded, mimeType}
  config.generate_audio -> parameters.generateAudio
Unset (None) fields are left out of the body.
"""

from __future__ import annotations

from google.genai import types

from core.providers.base import VideoRequest

EXTEND_MIME_TYPE = "video/mp4"  # the Extend button always sends the parent's mp4


def source_for(request: VideoRequest) -> types.GenerateVideosSource:
    """The prompt, the first frame if any, and the clip to continue for a native extension."""
    image = None
    if request.image is not None:
        image = types.Image(image_bytes=request.image, mime_type=request.image_mime_type or "image/png")
    video = None
    if request.extend_video is not None:
        video = types.Video(video_bytes=request.extend_video, mime_type=EXTEND_MIME_TYPE)
    return types.GenerateVideosSource(prompt=request.prompt, image=image, video=video)


def config_for(request: VideoRequest) -> types.GenerateVideosConfig:
    """One video, its length, shape and sound, and the closing frame if any."""
    last_frame = None
    if request.last_frame is not None:
        last_frame = types.Image(
            image_bytes=request.last_frame, mime_type=request.last_frame_mime_type or "image/png"
        )
    return types.GenerateVideosConfig(
        number_of_videos=1,
        duration_seconds=request.duration,
        aspect_ratio=request.aspect_ratio,
        resolution=request.resolution,
        generate_audio=_generate_audio(request),
        negative_prompt=request.negative_prompt or None,
        seed=request.seed,
        last_frame=last_frame,
    )


def _generate_audio(request: VideoRequest) -> bool | None:
    """True (sound), False (silence: only for a model whose audio is optional), None (no such input)."""
    if request.model.audio == "none":
        return None
    # Only an optional-audio model is ever asked for silence; sound otherwise, as before.
    return request.audio or request.model.audio != "optional"
