from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0003_durable_queue')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Generation',
            name='delivery_attempts',
            field=fields.IntField(default=0),
        ),
        ops.AddField(
            model_name='Generation',
            name='delivery_retry_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Generation',
            name='undeliverable',
            field=fields.BooleanField(default=False),
        ),
        ops.AddIndex(
            model_name='Generation',
            index=Index(fields=['delivered_at', 'completed_at']),
        ),
    ]
