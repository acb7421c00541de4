"""One video job, from request to file: the durable record every feature reads."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class GenerationStatus(StrEnum):
    """Lifecycle: pending -> (queued) -> processing -> completed | failed | cancelled."""

    PENDING = "pending"
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        """True for completed, failed and cancelled."""
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset(
    {GenerationStatus.COMPLETED, GenerationStatus.FAILED, GenerationStatus.CANCELLED}
)
ACTIVE_STATUSES = frozenset({GenerationStatus.PENDING, GenerationStatus.QUEUED, GenerationStatus.PROCESSING})


class Generation(Model):
    """A job. `id` is the generation_id users and logs refer to."""

    id = fields.BigIntField(primary_key=True)
    user = fields.ForeignKeyField("models.User", related_name="generations", on_delete=fields.CASCADE)
    guild_id = fields.BigIntField(null=True)
    channel_id = fields.BigIntField(null=True)
    message_id = fields.BigIntField(null=True)
    # The interaction that asked for the job: its token edits the reply for 15 minutes (never logged).
    interaction_id = fields.BigIntField(null=True)
    interaction_token = fields.CharField(max_length=500, null=True)
    upload_limit = fields.BigIntField(
        null=True
    )  # bytes the channel accepts (the interaction's attachment limit)

    prompt = fields.TextField()
    model = fields.CharField(max_length=64)
    provider = fields.CharField(max_length=16)
    provider_model_id = fields.CharField(max_length=200)
    config = fields.JSONField(default=dict)  # duration, aspect_ratio, resolution, negative_prompt, seed
    video_seconds = fields.IntField()  # requested length: what the quota is charged
    estimated_cost_usd = fields.FloatField(default=0.0)

    status = fields.CharEnumField(GenerationStatus, max_length=16, default=GenerationStatus.PENDING)
    provider_job_id = fields.CharField(max_length=500, null=True)
    submit_started_at = fields.DatetimeField(null=True)  # set before the create call: never submit twice
    # The id we chose for a provider that files jobs under our id (NamesJobs), stored with submit_started_at:
    # after a crash the runner asks the provider for it instead of failing the job.
    provider_chosen_id = fields.CharField(max_length=200, null=True)
    attempts = fields.IntField(default=0)  # claims that ended without a clean hand-back
    lease_owner = fields.CharField(max_length=64, null=True)  # the claim's lease token (worker + claim id)
    lease_expires_at = fields.DatetimeField(null=True)  # the worker must extend it; expired = abandoned

    video_path = fields.CharField(max_length=1000, null=True)  # where the finishing host wrote it
    video_key = fields.CharField(max_length=500, null=True)  # its key in storage (STORAGE_URL), any host
    video_bytes = fields.BigIntField(null=True)
    duration = fields.FloatField(null=True)  # seconds from start of work to completion
    stage_timings = fields.JSONField(default=dict)  # stage name -> seconds
    error = fields.TextField(null=True)
    error_type = fields.CharField(max_length=32, null=True)

    quota_day = fields.DateField()  # the UTC day the quota was charged to
    refunded = fields.BooleanField(default=False)
    deleted = fields.BooleanField(default=False)  # the Discord message was deleted; history keeps the row
    forgotten_at = fields.DatetimeField(
        null=True
    )  # /forget: prompt, settings and files gone; accounting kept
    delivered_at = fields.DatetimeField(null=True)  # the final result was shown in Discord
    delivery_attempts = fields.IntField(default=0)  # final edits (and fallback posts) that failed
    delivery_retry_at = fields.DatetimeField(null=True)  # the delivery sweep waits until then
    undeliverable = fields.BooleanField(default=False)  # delivery given up; shown in /history
    spend_released = fields.BooleanField(default=False)
    # The provider should be told to stop this job (cancelled, abandoned or timed out): the next try is due
    # then. Set in the same update as the status change, cleared once the provider has answered.
    provider_cancel_at = fields.DatetimeField(null=True)
    # Lineage: the job this one was made from, and how (regenerate; later remix, extend, variant...).
    parent_id = fields.BigIntField(null=True)
    relation = fields.CharField(max_length=16, null=True)
    # Variants of one /video share one message: the id of the first of them (config "variant" is 1..n).
    group_id = fields.BigIntField(null=True)

    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    submitted_at = fields.DatetimeField(null=True)
    completed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "generations"
        indexes = (
            ("user_id", "created_at"),
            ("status", "created_at"),
            ("model", "status"),
            ("status", "lease_expires_at"),
            ("delivered_at", "completed_at"),  # the delivery sweep's "finished, not yet shown"
            ("provider_cancel_at",),  # the provider-cancel sweep's "still to be told"
            ("parent_id",),  # a job's children (Info, /history)
            ("group_id",),  # the variants sharing one message
        )
