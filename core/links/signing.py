"""HMAC-SHA256 signed, expiring links: one job's video (`/v/{job_id}`) and one user's gallery
(`/g/{user_id}`), each `?exp=<unix seconds>&sig=<base64url HMAC>`.

The signature covers the kind of link, the id and the expiry, so a link can't be moved to another job or
user, stretched in time, or turned from a video into a gallery. Checking never says why a link failed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

from core.platform.clock import Clock
from core.platform.settings import Settings

VIDEO, GALLERY = "v", "g"
MAX_EXP_DIGITS = 12  # a unix time in seconds, far into the future; longer ones are refused unparsed


@dataclass(frozen=True)
class LinkSigner:
    """Makes and checks the signed links under `base_url` (PUBLIC_BASE_URL)."""

    secret: bytes = field(repr=False)
    base_url: str
    ttl_seconds: float
    now: Callable[[], float]  # unix seconds

    def _sig(self, kind: str, ident: int, exp: int) -> str:
        mac = hmac.new(self.secret, f"{kind}:{ident}:{exp}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def query(self, kind: str, ident: int, exp: int | None = None) -> dict[str, str]:
        """`exp` and `sig` for a link to `ident`, expiring at `exp` (default: now + the TTL)."""
        exp = int(self.now() + self.ttl_seconds) if exp is None else exp
        return {"exp": str(exp), "sig": self._sig(kind, ident, exp)}

    def video_url(self, job_id: int) -> str:
        """The public link to one job's original video."""
        return f"{self.base_url}/v/{job_id}?{urlencode(self.query(VIDEO, job_id))}"

    def gallery_url(self, user_id: int, page: int = 1) -> str:
        """The public link to one user's gallery (page 1 unless told)."""
        params = self.query(GALLERY, user_id)
        if page > 1:
            params["page"] = str(page)
        return f"{self.base_url}/g/{user_id}?{urlencode(params)}"

    def valid(self, kind: str, ident: int, params: Mapping[str, str]) -> int | None:
        """The link's expiry when `params` sign `ident` for `kind` and it has not expired, else None."""
        exp_text, sig = params.get("exp", ""), params.get("sig", "")
        if not (exp_text.isascii() and exp_text.isdigit() and len(exp_text) <= MAX_EXP_DIGITS):
            return None
        exp = int(exp_text)
        if not hmac.compare_digest(self._sig(kind, ident, exp).encode(), sig.encode("utf-8", "replace")):
            return None
        return exp if exp > self.now() else None


def link_signer(settings: Settings, clock: Clock) -> LinkSigner | None:
    """The signer for these settings, or None when links are off (PUBLIC_BASE_URL or HTTP_PORT unset)."""
    if not settings.links_enabled:
        return None
    return LinkSigner(
        settings.link_secret.encode(),
        settings.public_base_url or "",
        settings.link_ttl_hours * 3600,
        lambda: clock.now().timestamp(),
    )
