"""Gemini API (Omni Flash) provider: `client` is GeminiProvider, `request` shapes a create, `results` reads
interactions, `errors` maps the SDK's exceptions."""

from __future__ import annotations

from core.providers.gemini.client import GeminiProvider

__all__ = ["GeminiProvider"]
