from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0013_provider_chosen_id')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Generation',
            name='video_key',
            field=fields.CharField(null=True, max_length=500),
        ),
    ]
