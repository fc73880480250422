"""The windows' opening-time index also holds their closing time and person, so that a day's
windows of an office are found from the index alone; it is built before the old one goes."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("schedule", "0007_window_participant_opens")]

    operations = [
        migrations.AddIndex(
            model_name="checkinwindow",
            index=models.Index(
                fields=["opens_at", "closes_at", "participant"],
                include=("id",),
                name="window_opens_closes",
            ),
        ),
        migrations.RemoveIndex(
            model_name="checkinwindow",
            name="schedule_ch_opens_a_82d5d1_idx",
        ),
    ]
