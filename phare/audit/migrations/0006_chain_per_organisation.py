from django.db import migrations, models


class Migration(migrations.Migration):
    """A head per chain. The existing head (if any) is the head of the single chain written so far: `global`."""

    dependencies = [
        ("accounts", "0001_initial"),
        ("audit", "0005_organisation_chain"),
    ]

    operations = [
        migrations.AddField(
            model_name="audithead",
            name="chain",
            field=models.CharField(default="global", max_length=40, unique=True),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="audithead",
            name="organisation",
            field=models.ForeignKey(
                null=True, on_delete=models.deletion.PROTECT, related_name="+", to="accounts.organisation"
            ),
        ),
    ]
