from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0006_presets')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Generation',
            name='parent_id',
            field=fields.BigIntField(null=True),
        ),
        ops.AddField(
            model_name='Generation',
            name='relation',
            field=fields.CharField(null=True, max_length=16),
        ),
        ops.AddIndex(
            model_name='Generation',
            index=Index(fields=['parent_id']),
        ),
    ]
