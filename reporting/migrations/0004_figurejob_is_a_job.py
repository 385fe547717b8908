"""FigureJob becomes a kind of the shared background job (miv.Job, multi-table inheritance).

The old table is renamed, the new one created, every row copied with its id (the job API's
URLs stay valid), the figure sets pointed at the new table and the old table dropped.
Reversing it drops the figures jobs.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def copy_jobs(apps, schema_editor):
    Legacy = apps.get_model("reporting", "LegacyFigureJob")
    FigureJob = apps.get_model("reporting", "FigureJob")
    Job = apps.get_model("miv", "Job")
    for old in Legacy.objects.iterator():
        FigureJob.objects.create(
            id=old.id,
            status=old.status,
            progress=old.progress,
            step=old.step,
            attempts=old.attempts,
            error=old.error,
            requested_by_id=old.requested_by_id,
            celery_task_id=old.celery_task_id,
            started_at=old.started_at,
            finished_at=old.finished_at,
            school_year=old.school_year,
            reason=old.reason,
            figure_set_id=old.figure_set_id,
        )
        # auto_now_add/auto_now set these on create: give them their old values.
        Job.objects.filter(pk=old.id).update(created_at=old.created_at, updated_at=old.updated_at)


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0003_research_request_log"),
        ("miv", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The old table's indexes would take the names the new table's need.
        migrations.RemoveIndex(model_name="figurejob", name="figure_job_year_status"),
        migrations.AlterField(
            model_name="figurejob",
            name="school_year",
            field=models.CharField(max_length=9, verbose_name="schooljaar"),
        ),
        migrations.AlterField(
            model_name="figurejob",
            name="figure_set",
            field=models.ForeignKey(
                blank=True,
                null=True,
                db_index=False,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="reporting.figureset",
            ),
        ),
        migrations.AlterField(
            model_name="figurejob",
            name="requested_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                db_index=False,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RenameModel("FigureJob", "LegacyFigureJob"),
        migrations.CreateModel(
            name="FigureJob",
            fields=[
                (
                    "job_ptr",
                    models.OneToOneField(
                        auto_created=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        parent_link=True,
                        primary_key=True,
                        serialize=False,
                        to="miv.job",
                    ),
                ),
                (
                    "school_year",
                    models.CharField(db_index=True, max_length=9, verbose_name="schooljaar"),
                ),
                (
                    "reason",
                    models.CharField(
                        choices=[
                            ("api", "Aangevraagd via de API"),
                            ("command", "Beheercommando"),
                            ("nightly", "Nachtelijke herberekening"),
                            ("change", "Gewijzigde gegevens"),
                            ("demo", "Demodata"),
                        ],
                        max_length=10,
                        verbose_name="aanleiding",
                    ),
                ),
                (
                    "figure_set",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="reporting.figureset",
                        verbose_name="cijferset",
                    ),
                ),
            ],
            options={
                "verbose_name": "berekening",
                "verbose_name_plural": "berekeningen",
                "ordering": ["-created_at"],
            },
            bases=("miv.job",),
        ),
        migrations.RunPython(copy_jobs, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="figureset",
            name="job",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="reporting.figurejob",
                verbose_name="taak",
            ),
        ),
        migrations.DeleteModel("LegacyFigureJob"),
    ]
