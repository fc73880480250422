from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("schedule", "0006_appointment_bulk_action"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="checkinwindow",
            name="schedule_ch_partici_8b8fb1_idx",
        ),
        migrations.AddIndex(
            model_name="checkinwindow",
            index=models.Index(
                fields=["participant", "opens_at", "closes_at"], name="window_participant_opens"
            ),
        ),
    ]
