from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0007_job_lineage')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Generation',
            name='group_id',
            field=fields.BigIntField(null=True),
        ),
        ops.AddIndex(
            model_name='Generation',
            index=Index(fields=['group_id']),
        ),
    ]
