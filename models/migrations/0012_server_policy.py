from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0011_allowed_channels')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ChannelSettings',
            fields=[
                ('channel_id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('guild_id', fields.BigIntField(db_index=True)),
                ('default_model', fields.CharField(null=True, max_length=64)),
                ('max_duration', fields.IntField(null=True)),
                ('max_resolution', fields.CharField(null=True, max_length=8)),
                ('max_variants', fields.IntField(null=True)),
                ('permissive_safety', fields.BooleanField(default=False)),
                ('updated_by', fields.BigIntField()),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'channel_settings', 'app': 'models', 'pk_attr': 'channel_id', 'table_description': "One channel's defaults and limits, set with /videoadmin channel set (None: the server settings apply)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RoleSettings',
            fields=[
                ('role_id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('guild_id', fields.BigIntField(db_index=True)),
                ('allowed', fields.BooleanField(default=False)),
                ('daily_videos', fields.IntField(null=True)),
                ('daily_seconds', fields.IntField(null=True)),
                ('updated_by', fields.BigIntField()),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'role_settings', 'app': 'models', 'pk_attr': 'role_id', 'table_description': 'A server role: allowed to use /video (once one is, only members with an allowed role may), and'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ServerDailyUsage',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('guild_id', fields.BigIntField()),
                ('day', fields.DateField()),
                ('videos', fields.IntField(default=0)),
                ('seconds', fields.IntField(default=0)),
                ('micro_usd', fields.BigIntField(default=0)),
            ],
            options={'table': 'server_daily_usage', 'app': 'models', 'unique_together': (('guild_id', 'day'),), 'pk_attr': 'id', 'table_description': 'Videos, video-seconds and estimated micro-dollars one server has reserved on one UTC day (its caps'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ServerSettings',
            fields=[
                ('guild_id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('default_model', fields.CharField(null=True, max_length=64)),
                ('allowed_models', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('max_duration', fields.IntField(null=True)),
                ('max_resolution', fields.CharField(null=True, max_length=8)),
                ('max_variants', fields.IntField(null=True)),
                ('daily_videos', fields.IntField(null=True)),
                ('daily_seconds', fields.IntField(null=True)),
                ('daily_spend_micro_usd', fields.BigIntField(null=True)),
                ('spoilers', fields.BooleanField(default=False)),
                ('threads', fields.BooleanField(default=True)),
                ('hide_blocked_prompts', fields.BooleanField(default=False)),
                ('updated_by', fields.BigIntField()),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'server_settings', 'app': 'models', 'pk_attr': 'guild_id', 'table_description': "One server's /video policy, set with /videoadmin server set (None: the global setting applies)."},
            bases=['Model'],
        ),
    ]
