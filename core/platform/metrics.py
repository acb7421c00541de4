"""What the process counts for Prometheus: one `Metrics` object per process (passed through Services).

Each call site is one line (`metrics.job_finished(...)`); every metric lives in this object's own
registry (never prometheus-client's global one), so several processes' worth of services in one test
run never collide. Names start with `videobot_`; the README's "Health and metrics" lists them all.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from core.errors import GenerationError

PROVIDER_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0)
FIT_BUCKETS = (0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0)
LAG_BUCKETS = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def server_label(guild_id: int | None) -> str:
    """The `server` label: the guild id, or "dm" for direct messages and the terminal."""
    return str(guild_id) if guild_id else "dm"


def outcome_of(exc: BaseException | None) -> str:
    """A provider call's `outcome` label: ok, 429 (rate limited), retry (a retryable error the runner
    repeats), or the error's category (e.g. safety_blocked, timeout)."""
    if exc is None:
        return "ok"
    if isinstance(exc, GenerationError):
        if "429" in exc.detail:
            return "429"
        return "retry" if exc.retryable else exc.category.value
    return "unknown"


class Metrics:
    """This process's Prometheus metrics, each incremented by one small method."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.jobs = Counter(
            "videobot_jobs",
            "Jobs that reached a final state here",
            ["status", "model", "provider"],
            registry=r,
        )
        self.in_flight = Gauge(
            "videobot_jobs_in_flight",
            "Jobs processing (all processes, read at scrape)",
            ["model"],
            registry=r,
        )
        self.waiting = Gauge(
            "videobot_jobs_waiting", "Jobs queued (all processes, read at scrape)", ["model"], registry=r
        )
        self.provider_requests = Counter(
            "videobot_provider_requests",
            "Provider API calls",
            ["provider", "operation", "outcome"],
            registry=r,
        )
        self.provider_seconds = Histogram(
            "videobot_provider_request_seconds",
            "Provider API call latency (stream: the whole watch)",
            ["provider", "operation", "outcome"],
            buckets=PROVIDER_BUCKETS,
            registry=r,
        )
        self.fits = Counter(
            "videobot_fit_to_size", "Videos fitted to an upload limit", ["result"], registry=r
        )
        self.fit_seconds = Histogram(
            "videobot_fit_to_size_seconds",
            "Time to fit a video to an upload limit",
            buckets=FIT_BUCKETS,
            registry=r,
        )
        self.upload_bytes = Counter("videobot_upload_bytes", "Bytes of video attached to Discord", registry=r)
        self.discord_edits = Counter(
            "videobot_discord_edits", "Discord message edits of job messages", ["outcome"], registry=r
        )
        self.discord_429 = Counter(
            "videobot_discord_rate_limited", "Discord 429 answers (discord.py waited and retried)", registry=r
        )
        self.spend = Counter(
            "videobot_spend_estimated_usd",
            "Estimated spend committed at admission",
            ["model", "server"],
            registry=r,
        )
        self.spend_released = Counter(
            "videobot_spend_released_usd",
            "Estimated spend given back (jobs the provider never billed)",
            ["model", "server"],
            registry=r,
        )
        self.spend_today = Gauge(
            "videobot_spend_today_usd",
            "Today's estimated spend (UTC day, all processes, read at scrape)",
            registry=r,
        )
        self.lease_expiries = Counter(
            "videobot_lease_expiries", "Jobs whose worker's lease ran out, returned to the line", registry=r
        )
        self.redeliveries = Counter(
            "videobot_redeliveries",
            "Finished results the delivery sweep found undelivered and retried",
            registry=r,
        )
        self.refusals = Counter("videobot_refusals", "Requests refused at admission", ["reason"], registry=r)
        self.notification_lag = Histogram(
            "videobot_notification_lag_seconds",
            "From a job's end to its result shown in Discord (fitting, pacing, upload, re-deliveries)",
            buckets=LAG_BUCKETS,
            registry=r,
        )

    # ---- call sites --------------------------------------------------------------------------

    def job_finished(self, status: str, model: str | None, provider: str | None) -> None:
        """A job reached `status` (completed, failed, cancelled) through this process."""
        self.jobs.labels(status, model or "", provider or "").inc()

    def provider_call(self, provider: str, operation: str, seconds: float, exc: BaseException | None) -> None:
        """One provider API call (submit, poll, stream, download) and how it ended."""
        outcome = outcome_of(exc)
        self.provider_requests.labels(provider, operation, outcome).inc()
        self.provider_seconds.labels(provider, operation, outcome).observe(seconds)

    def fitted(self, seconds: float, *, reencoded: bool, remuxed: bool) -> None:
        """A video was fitted to an upload limit (re-encoded, remuxed, or it fitted as it was)."""
        self.fits.labels("reencoded" if reencoded else "remuxed" if remuxed else "unchanged").inc()
        self.fit_seconds.observe(seconds)

    def uploaded(self, size: int) -> None:
        """A video of `size` bytes was attached to a Discord message."""
        self.upload_bytes.inc(size)

    def discord_edit(self, outcome: str) -> None:
        """A job message edit: ok, or the error's name (NotFound, Forbidden, HTTPException)."""
        self.discord_edits.labels(outcome).inc()

    def discord_rate_limited(self) -> None:
        """Discord answered 429."""
        self.discord_429.inc()

    def spend_committed(self, model: str, guild_id: int | None, usd: float) -> None:
        """Estimated cost reserved at admission."""
        self.spend.labels(model, server_label(guild_id)).inc(max(0.0, usd))

    def spend_given_back(self, model: str, guild_id: int | None, usd: float) -> None:
        """Estimated cost released for a job the provider never billed."""
        self.spend_released.labels(model, server_label(guild_id)).inc(max(0.0, usd))

    def leases_expired(self, count: int) -> None:
        """Jobs a sweep returned to the line because their lease ran out."""
        self.lease_expiries.inc(count)

    def redelivering(self, count: int) -> None:
        """Finished results the delivery sweep is about to deliver (again)."""
        self.redeliveries.inc(count)

    def notified(self, seconds: float) -> None:
        """A finished job's result became visible `seconds` after the job ended."""
        self.notification_lag.observe(max(0.0, seconds))

    def refused(self, reason: str) -> None:
        """A request refused at admission, by category (user_quota_exceeded, prompt_blocked, …)."""
        self.refusals.labels(reason).inc()

    # ---- scrape --------------------------------------------------------------------------------

    def set_queue(self, rows: Iterable[tuple[str, str, int]], spend_today_usd: float) -> None:
        """The database's view at scrape time: (status, model, count) rows and today's spend."""
        self.in_flight.clear()
        self.waiting.clear()
        for status, model, count in rows:
            gauge = self.in_flight if status == "processing" else self.waiting
            gauge.labels(model).set(count)
        self.spend_today.set(spend_today_usd)

    def exposition(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)

    def names(self) -> set[str]:
        """Every series name this process exports (counters with `_total`, histograms' `_bucket`, `_count`
        and `_sum`), whether or not it has samples yet."""
        found = set()
        for family in self.registry.collect():
            for sample in family.samples:
                found.add(sample.name)
            if family.type == "counter":
                found.add(family.name + "_total")
            elif family.type == "histogram":
                found.update(family.name + suffix for suffix in ("_bucket", "_count", "_sum"))
            else:
                found.add(family.name)
        return {n for n in found if not n.endswith("_created") and n + "_bucket" not in found}


# The default of parts built without the process's Metrics (tests that assemble their own): counted, never
# served. Services always passes its own.
UNCOUNTED = Metrics()
