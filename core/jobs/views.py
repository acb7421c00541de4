"""Frozen views of a job: what everything outside core/jobs sees instead of the ORM row.

`JobView` is what the Discord layer renders; `DeliveryTarget` is where a job's message lives (Discord
delivery state under neutral names); `GenerationResult` is the CLI's (and the seed's) result shape.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from core.errors import USER_MESSAGES, ErrorCategory
from models import Generation, GenerationStatus
from models.generation import TERMINAL_STATUSES

HIDDEN_PROMPT = "(hidden: the video service's safety filter refused it)"
JobStatus = GenerationStatus  # the lifecycle states, for code outside core that never sees a row


@dataclass(frozen=True)
class Requester:
    """Who asked, and where."""

    user_id: int
    guild_id: int | None = None
    channel_id: int | None = None
    parent_channel_id: int | None = None  # in a thread: its channel
    role_ids: tuple[int, ...] = ()  # the member's roles in that server
    nsfw: bool = False  # Discord marks the channel age-restricted


@dataclass(frozen=True)
class DeliveryTarget:
    """Where a job's one message lives, and what may edit it (the interaction token, while it lasts)."""

    channel_id: int
    message_id: int
    interaction_id: int | None = None
    token: str | None = field(default=None, repr=False)  # a secret for 15 minutes: never in repr or logs
    upload_limit: int | None = None  # bytes that channel accepts


@dataclass(frozen=True)
class Lineage:
    """Where a new job comes from: the job it was made from, and how."""

    parent_id: int
    relation: str  # "regenerate", "extend", "remix"


@dataclass(frozen=True)
class JobView:
    """One job as the product shows it."""

    id: int
    user_id: int
    guild_id: int | None
    status: GenerationStatus
    prompt: str
    model: str
    provider: str
    config: dict[str, Any]
    video_seconds: int
    estimated_cost_usd: float
    created_at: dt.datetime
    completed_at: dt.datetime | None
    video_path: str | None
    error: str | None
    error_type: str | None
    refunded: bool
    deleted: bool
    delivered: bool
    undeliverable: bool
    target: DeliveryTarget | None
    timings: dict[str, float] = field(default_factory=dict)  # stage name -> seconds (submit, processing...)
    parent_id: int | None = None  # the job this one was made from ...
    relation: str | None = None  # ... and how: "regenerate", "extend", "remix"
    group_id: int | None = None  # variants of one /video: the first one's id (they share one message)
    video_key: str | None = None  # the video's key in storage (None: a job from before storage keys)

    @property
    def is_demo(self) -> bool:
        """Made by the local demo renderer (a labelled test pattern, not AI output)."""
        return self.provider == "demo"

    @property
    def prompt_hidden(self) -> bool:
        """The provider's safety filter refused it and its server hides such prompts in channels (its
        owner still sees it in /history)."""
        return (
            bool(self.config.get("hide_blocked_prompt"))
            and self.status is GenerationStatus.FAILED
            and self.error_type == ErrorCategory.SAFETY_BLOCKED
        )

    @property
    def shown_prompt(self) -> str:
        """The prompt as a channel may show it."""
        return HIDDEN_PROMPT if self.prompt_hidden else self.prompt

    @property
    def variant(self) -> int | None:
        """Its number among the variants of one /video (1..n), or None for a job on its own."""
        return self.config.get("variant") if self.group_id is not None else None

    @property
    def finished(self) -> bool:
        """Completed, failed or cancelled."""
        return self.status.is_terminal

    @property
    def took(self) -> float | None:
        """Seconds from request to finish."""
        return (self.completed_at - self.created_at).total_seconds() if self.completed_at else None

    @classmethod
    def of(cls, gen: Generation) -> JobView:
        """The view of a job row."""
        target = None
        if gen.channel_id and gen.message_id:
            target = DeliveryTarget(
                gen.channel_id, gen.message_id, gen.interaction_id, gen.interaction_token, gen.upload_limit
            )
        return cls(
            id=gen.id,
            user_id=gen.user_id,
            guild_id=gen.guild_id,
            status=gen.status,
            prompt=gen.prompt,
            model=gen.model,
            provider=gen.provider,
            config=dict(gen.config or {}),
            video_seconds=gen.video_seconds,
            estimated_cost_usd=gen.estimated_cost_usd,
            created_at=gen.created_at,
            completed_at=gen.completed_at,
            video_path=gen.video_path,
            error=gen.error,
            error_type=gen.error_type,
            refunded=gen.refunded,
            deleted=gen.deleted,
            delivered=gen.delivered_at is not None,
            undeliverable=gen.undeliverable,
            target=target,
            timings=dict(gen.stage_timings or {}),
            parent_id=gen.parent_id,
            relation=gen.relation,
            group_id=gen.group_id,
            video_key=gen.video_key,
        )


@dataclass(frozen=True)
class GenerationResult:
    """The seed's result shape (the CLI prints it as JSON), plus what a UI shows next to the video."""

    status: str  # "success" | "error"
    video_path: str | None
    operation_id: str | None
    duration: float | None
    generation_id: int | None
    error: str | None = None
    error_type: str | None = None
    error_detail: str | None = None
    model: str | None = None
    video_seconds: int | None = None
    estimated_cost_usd: float | None = None
    refunded: bool = False
    job_status: str | None = None  # the record's status: anything but completed/failed/cancelled = not over

    @property
    def prompt_hidden(self) -> bool:
        """The provider's safety filter refused it and its server hides such prompts in channels (its
        owner still sees it in /history)."""
        return (
            bool(self.config.get("hide_blocked_prompt"))
            and self.status is GenerationStatus.FAILED
            and self.error_type == ErrorCategory.SAFETY_BLOCKED
        )

    @property
    def shown_prompt(self) -> str:
        """The prompt as a channel may show it."""
        return HIDDEN_PROMPT if self.prompt_hidden else self.prompt

    @property
    def variant(self) -> int | None:
        """Its number among the variants of one /video (1..n), or None for a job on its own."""
        return self.config.get("variant") if self.group_id is not None else None

    @property
    def finished(self) -> bool:
        """True when the job reached a terminal state (False e.g. when another worker owns it now)."""
        return self.job_status in {status.value for status in TERMINAL_STATUSES} or (
            self.job_status is None and self.generation_id is None
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_error(cls, exc: Any, generation_id: int | None = None) -> GenerationResult:
        """An error result for a job that was refused before it had a record."""
        return cls("error", None, None, None, generation_id, exc.user_message, exc.category.value, exc.detail)


def result_of(gen: Generation) -> GenerationResult:
    """The result object for a job record."""
    ok = gen.status is GenerationStatus.COMPLETED
    category = ErrorCategory(gen.error_type) if gen.error_type else None
    return GenerationResult(
        status="success" if ok else "error",
        video_path=gen.video_path if ok else None,
        operation_id=gen.provider_job_id,
        duration=gen.duration,
        generation_id=gen.id,
        error=None if ok else (USER_MESSAGES[category] if category else gen.error),
        error_type=gen.error_type,
        error_detail=gen.error,
        model=gen.model,
        video_seconds=gen.video_seconds,
        estimated_cost_usd=gen.estimated_cost_usd,
        refunded=gen.refunded,
        job_status=gen.status.value,
    )
