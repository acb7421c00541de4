from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.generation import GenerationStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='DailySpend',
            fields=[
                ('day', fields.DateField(primary_key=True, unique=True, db_index=True)),
                ('micro_usd', fields.BigIntField(default=0)),
            ],
            options={'table': 'daily_spend', 'app': 'models', 'pk_attr': 'day', 'table_description': 'Estimated USD committed on one UTC day, in micro-dollars (integers add up exactly).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='User',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('daily_videos', fields.IntField(null=True)),
                ('daily_seconds', fields.IntField(null=True)),
                ('blocked', fields.BooleanField(default=False)),
                ('blocked_reason', fields.CharField(null=True, max_length=500)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'users', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Keyed by the Discord user id. Quota overrides: None = the default, 0 = unlimited.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DailyUsage',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='usage', on_delete=OnDelete.CASCADE)),
                ('day', fields.DateField()),
                ('videos', fields.IntField(default=0)),
                ('seconds', fields.IntField(default=0)),
            ],
            options={'table': 'daily_usage', 'app': 'models', 'unique_together': (('user', 'day'),), 'pk_attr': 'id', 'table_description': 'Videos and video-seconds one user has reserved on one UTC day.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Generation',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='generations', on_delete=OnDelete.CASCADE)),
                ('guild_id', fields.BigIntField(null=True)),
                ('channel_id', fields.BigIntField(null=True)),
                ('message_id', fields.BigIntField(null=True)),
                ('prompt', fields.TextField(unique=False)),
                ('model', fields.CharField(max_length=64)),
                ('provider', fields.CharField(max_length=16)),
                ('provider_model_id', fields.CharField(max_length=200)),
                ('config', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('video_seconds', fields.IntField()),
                ('estimated_cost_usd', fields.FloatField(default=0.0)),
                ('status', fields.CharEnumField(default=GenerationStatus.PENDING, description='PENDING: pending\nQUEUED: queued\nPROCESSING: processing\nCOMPLETED: completed\nFAILED: failed\nCANCELLED: cancelled', enum_type=GenerationStatus, max_length=16)),
                ('provider_job_id', fields.CharField(null=True, max_length=500)),
                ('submit_started_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('attempts', fields.IntField(default=0)),
                ('video_path', fields.CharField(null=True, max_length=1000)),
                ('video_bytes', fields.BigIntField(null=True)),
                ('duration', fields.FloatField(null=True)),
                ('stage_timings', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('error', fields.TextField(null=True, unique=False)),
                ('error_type', fields.CharField(null=True, max_length=32)),
                ('quota_day', fields.DateField()),
                ('refunded', fields.BooleanField(default=False)),
                ('spend_released', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('submitted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('completed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'generations', 'app': 'models', 'indexes': [Index(fields=['user_id', 'created_at']), Index(fields=['status', 'created_at']), Index(fields=['model', 'status'])], 'pk_attr': 'id', 'table_description': 'A job. `id` is the generation_id users and logs refer to.'},
            bases=['Model'],
        ),
    ]
