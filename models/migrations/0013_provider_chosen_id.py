from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0012_server_policy')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Generation',
            name='provider_chosen_id',
            field=fields.CharField(null=True, max_length=200),
        ),
    ]
