"""Link buttons to the bot's own web pages (PUBLIC_BASE_URL): `Full quality` on a finished message whose
attachment is a re-encode or missing, and the gallery on /history. Link buttons have no custom_id, so they
work after a restart (until the signed link expires)."""

from __future__ import annotations

import discord

from core.jobs.results import ResultView
from core.links.signing import link_signer
from core.services import Services

FULL_QUALITY = "Full quality"
GALLERY = "Your gallery"


def _has_link(view: discord.ui.View, label: str) -> bool:
    return any(isinstance(i, discord.ui.Button) and i.url and i.label == label for i in view.children)


def with_full_quality(
    view: discord.ui.View,
    services: Services,
    result: ResultView,
    *,
    refused: bool = False,
    label: str = FULL_QUALITY,
    row: int | None = None,
) -> discord.ui.View:
    """Add `Full quality` (a signed link to the original) when the message can't carry the original:
    it was re-encoded or too big to attach (`result.full_quality`), or Discord refused the upload. A
    variants message names the variant in `label` and puts the link in its `row`."""
    signer = link_signer(services.settings, services.clock)
    if signer is None or not (result.full_quality or refused) or not result.job.video_path:
        return view
    if not _has_link(view, label):
        view.add_item(discord.ui.Button(label=label, url=signer.video_url(result.job.id), row=row))
    return view


def with_gallery(view: discord.ui.View, services: Services, user_id: int) -> discord.ui.View:
    """Add a signed link to `user_id`'s gallery page (links on)."""
    signer = link_signer(services.settings, services.clock)
    if signer is not None and not _has_link(view, GALLERY):
        view.add_item(discord.ui.Button(label=GALLERY, url=signer.gallery_url(user_id)))
    return view
