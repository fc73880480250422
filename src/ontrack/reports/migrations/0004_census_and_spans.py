"""Program rows summed per span of days, and the census's changes. The roll-ups computed
before hold neither: they are deleted (as in 0003), and counted from the records until the
worker's next roll-up job computes them all again."""

import django.db.models.deletion
from django.apps.registry import Apps
from django.conf import settings
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor


def rollups_delete(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    apps.get_model("reports", "DailyCount").objects.all().delete()
    apps.get_model("reports", "RollupRun").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_office_location"),
        ("reports", "0003_rollups_recomputed"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="CensusChange",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "level",
                    models.CharField(
                        choices=[
                            ("officer", "Officer"),
                            ("office", "Office"),
                            ("program", "Program"),
                        ],
                        max_length=8,
                    ),
                ),
                ("day", models.DateField()),
                ("status", models.CharField(max_length=16)),
                ("plan_level", models.CharField(blank=True, max_length=12)),
                ("modality", models.CharField(blank=True, max_length=8)),
                ("n", models.IntegerField()),
            ],
        ),
        migrations.RemoveIndex(
            model_name="dailycount",
            name="rollup_program_day",
        ),
        migrations.AddField(
            model_name="dailycount",
            name="span",
            field=models.CharField(
                choices=[
                    ("day", "Day"),
                    ("week", "Week (days 1-7, 8-14, 15-21 or 22-28 of a month)"),
                    ("month", "Month"),
                    ("quarter", "Quarter"),
                ],
                default="day",
                max_length=8,
            ),
        ),
        migrations.AddIndex(
            model_name="dailycount",
            index=models.Index(
                fields=["measure", "level", "span", "day"], name="rollup_program_span"
            ),
        ),
        migrations.AddField(
            model_name="censuschange",
            name="office",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="accounts.office",
            ),
        ),
        migrations.AddField(
            model_name="censuschange",
            name="officer",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="censuschange",
            name="program",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="+", to="accounts.program"
            ),
        ),
        migrations.AddIndex(
            model_name="censuschange",
            index=models.Index(fields=["level", "day"], name="census_program_day"),
        ),
        migrations.AddIndex(
            model_name="censuschange",
            index=models.Index(fields=["level", "office", "day"], name="census_office_day"),
        ),
        migrations.AddIndex(
            model_name="censuschange",
            index=models.Index(fields=["level", "officer", "day"], name="census_officer_day"),
        ),
        migrations.RunPython(rollups_delete, migrations.RunPython.noop),
    ]
