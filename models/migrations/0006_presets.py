from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0005_provider_cancel_mark')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Preset',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user_id', fields.BigIntField(db_index=True)),
                ('name', fields.CharField(max_length=32)),
                ('key', fields.CharField(max_length=32)),
                ('model', fields.CharField(null=True, max_length=64)),
                ('duration', fields.IntField(null=True)),
                ('aspect_ratio', fields.CharField(null=True, max_length=16)),
                ('resolution', fields.CharField(null=True, max_length=16)),
                ('negative_prompt', fields.CharField(null=True, max_length=500)),
                ('suffix', fields.CharField(null=True, max_length=500)),
                ('is_default', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'presets', 'app': 'models', 'unique_together': (('user_id', 'key'),), 'pk_attr': 'id', 'table_description': 'One named preset of one user. None in a field: the preset leaves that option alone.'},
            bases=['Model'],
        ),
    ]
