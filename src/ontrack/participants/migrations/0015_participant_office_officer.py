from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("participants", "0014_bulk_action"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="participant",
            index=models.Index(fields=["office", "officer"], name="participant_office_officer"),
        ),
    ]
