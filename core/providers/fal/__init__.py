"""fal.ai queue provider: `request` shapes a submit, `errors` reads fal's replies, `stream` follows a job on
the queue's status stream, `client` is FalProvider."""

from __future__ import annotations

from core.providers.fal.client import DEFAULT_QUEUE_URL, FalProvider
from core.providers.fal.request import build_arguments, endpoint_for, format_duration

__all__ = ["DEFAULT_QUEUE_URL", "FalProvider", "build_arguments", "endpoint_for", "format_duration"]
