from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='BotState',
            fields=[
                ('key', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('value', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'bot_state', 'app': 'models', 'pk_attr': 'key', 'table_description': 'One named value. Kept in the database so several processes agree on it.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Generation',
            name='deleted',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='Generation',
            name='delivered_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Generation',
            name='interaction_id',
            field=fields.BigIntField(null=True),
        ),
        ops.AddField(
            model_name='Generation',
            name='interaction_token',
            field=fields.CharField(null=True, max_length=500),
        ),
    ]
