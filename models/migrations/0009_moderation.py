from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0008_variant_groups')]

    initial = False

    operations = [
        ops.CreateModel(
            name='BlocklistEntry',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('guild_id', fields.BigIntField()),
                ('pattern', fields.CharField(max_length=300)),
                ('added_by', fields.BigIntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'blocklist_entries', 'app': 'models', 'unique_together': (('guild_id', 'pattern'),), 'pk_attr': 'id', 'table_description': "One entry of one server's blocklist: a plain word, or `re:` and a regular expression."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PromptRefusal',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('guild_id', fields.BigIntField(null=True)),
                ('user_id', fields.BigIntField()),
                ('entry', fields.CharField(max_length=300)),
                ('field', fields.CharField(max_length=32)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'prompt_refusals', 'app': 'models', 'indexes': [Index(fields=['guild_id', 'created_at'])], 'pk_attr': 'id', 'table_description': 'A request the blocklist refused: who, where, when, and which entry (never the prompt).'},
            bases=['Model'],
        ),
    ]
