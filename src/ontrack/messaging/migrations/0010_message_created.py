from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0009_message_attachment"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="message",
            index=models.Index(fields=["created_at", "id"], name="message_created"),
        ),
    ]
