from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0010_forgotten_jobs')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AllowedChannel',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('guild_id', fields.BigIntField(db_index=True)),
                ('channel_id', fields.BigIntField(unique=True)),
                ('added_by', fields.BigIntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'allowed_channels', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A channel of a server where /video works (once a server has one, /video works only in those).'},
            bases=['Model'],
        ),
    ]
