from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0002_discord_delivery')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Lock',
            fields=[
                ('name', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('owner', fields.CharField(null=True, max_length=64)),
                ('expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'locks', 'app': 'models', 'pk_attr': 'name', 'table_description': 'A named mutex held by one process until it releases it or `expires_at` passes.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RateWindow',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('provider', fields.CharField(max_length=16)),
                ('minute', fields.BigIntField()),
                ('count', fields.IntField(default=0)),
            ],
            options={'table': 'rate_windows', 'app': 'models', 'unique_together': (('provider', 'minute'),), 'pk_attr': 'id', 'table_description': 'Requests made to one provider in one minute, shared by every process.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Generation',
            name='lease_expires_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Generation',
            name='lease_owner',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name='Generation',
            name='upload_limit',
            field=fields.BigIntField(null=True),
        ),
        ops.AddIndex(
            model_name='Generation',
            index=Index(fields=['status', 'lease_expires_at']),
        ),
        ops.AddField(
            model_name='User',
            name='last_started_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
