from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0004_delivery_attempts')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Generation',
            name='provider_cancel_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddIndex(
            model_name='Generation',
            index=Index(fields=['provider_cancel_at']),
        ),
    ]
