"""A provider seen through the metrics: every submit, poll, stream (watch) and download is counted and
timed by outcome, and everything else (attributes, cancel, list_models) goes straight to the provider.

Only a provider that can `watch` gets a metered `watch`, so `isinstance(p, Watchable)` stays true
exactly when it is true of the provider itself. Setting an attribute sets it on the provider.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from core.platform.metrics import Metrics
from core.providers.base import JobRef, PollResult, Provider, VideoRequest, VideoSource, Watchable

T = TypeVar("T")


class MeteredProvider:
    """Wraps one provider; counts its calls in `metrics`."""

    def __init__(
        self, inner: Provider, metrics: Metrics, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        object.__setattr__(self, "_inner", inner)
        object.__setattr__(self, "_metrics", metrics)
        object.__setattr__(self, "_monotonic", monotonic)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._inner, name, value)

    @property
    def inner(self) -> Provider:
        """The provider itself."""
        return self._inner

    async def _timed(self, operation: str, call: Callable[[], Awaitable[T]]) -> T:
        started = self._monotonic()
        try:
            result = await call()
        except Exception as exc:
            self._metrics.provider_call(self._inner.name, operation, self._monotonic() - started, exc)
            raise
        self._metrics.provider_call(self._inner.name, operation, self._monotonic() - started, None)
        return result

    async def submit(self, request: VideoRequest) -> str:
        """The provider's submit, counted."""
        return await self._timed("submit", lambda: self._inner.submit(request))

    async def poll(self, ref: JobRef) -> PollResult:
        """The provider's poll, counted."""
        return await self._timed("poll", lambda: self._inner.poll(ref))

    async def fetch(self, ref: JobRef, video: VideoSource, dest: Path, max_bytes: int) -> int:
        """The provider's download, counted."""
        return await self._timed("download", lambda: self._inner.fetch(ref, video, dest, max_bytes))


class MeteredWatchableProvider(MeteredProvider):
    """A metered provider that can also push a job's state: one `stream` request per watch."""

    async def watch(self, ref: JobRef) -> AsyncIterator[PollResult]:
        """The provider's watch; counted once when it ends, timed over its whole length."""
        started = self._monotonic()
        error: BaseException | None = None
        try:
            async for result in self._inner.watch(ref):  # type: ignore[attr-defined]
                yield result
        except Exception as exc:
            error = exc
            raise
        finally:
            self._metrics.provider_call(self._inner.name, "stream", self._monotonic() - started, error)


class MeteredProviders(Mapping[str, Provider]):
    """The providers as the metrics see them: a live view of the same dict, so a provider added to it
    later (the benchmark's, a test's) is found, and metered, by the runner too."""

    def __init__(self, providers: dict[str, Provider], metrics: Metrics) -> None:
        self._providers = providers
        self._metrics = metrics
        self._wrapped: dict[str, tuple[Provider, Provider]] = {}  # name -> (provider, its metered view)

    def __getitem__(self, name: str) -> Provider:
        inner = self._providers[name]
        known = self._wrapped.get(name)
        if known is None or known[0] is not inner:
            kind = MeteredWatchableProvider if isinstance(inner, Watchable) else MeteredProvider
            known = (inner, kind(inner, self._metrics))  # type: ignore[assignment]
            self._wrapped[name] = known
        return known[1]

    def __iter__(self) -> Iterator[str]:
        return iter(self._providers)

    def __len__(self) -> int:
        return len(self._providers)


def metered(providers: dict[str, Provider], metrics: Metrics) -> Mapping[str, Provider]:
    """The same providers, each counted in `metrics` (a live view: later additions included)."""
    return MeteredProviders(providers, metrics)
