from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0008_alert_status_closed"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="alert",
            index=models.Index(fields=["occurred_at"], name="alert_occurred"),
        ),
    ]
