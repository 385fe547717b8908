"""ImportJob becomes a kind of the shared background job (miv.Job, multi-table inheritance).

The old table is renamed, the new one created, every row copied (with a new UUID as its id:
jobs were numbered before) and the old table dropped. Reversing it drops the import jobs.
"""

import uuid

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import incidents.models


def copy_jobs(apps, schema_editor):
    Legacy = apps.get_model("incidents", "LegacyImportJob")
    ImportJob = apps.get_model("incidents", "ImportJob")
    Job = apps.get_model("miv", "Job")
    for old in Legacy.objects.order_by("pk").iterator():
        new = ImportJob.objects.create(
            id=uuid.uuid4(),
            status=old.status,
            progress=old.progress,
            error=old.message,
            requested_by_id=old.uploaded_by_id,
            finished_at=old.finished_at,
            kind=old.kind,
            institution_id=old.institution_id,
            file=old.file.name if old.file else "",
            original_name=old.original_name,
            options=old.options,
            summary=old.summary,
            errors=old.errors,
            error_count=old.error_count,
            validated_at=old.validated_at,
        )
        # auto_now_add/auto_now set these on create: give them their old values.
        Job.objects.filter(pk=new.pk).update(
            created_at=old.created_at, updated_at=old.finished_at or old.created_at
        )


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0006_injury_default_unknown_external_id_conflict"),
        ("miv", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="importjob", name="import_job_incidents_have_institution"
        ),
        # The old table's indexes would take the names the new table's need.
        migrations.AlterField(
            model_name="importjob",
            name="institution",
            field=models.ForeignKey(
                blank=True,
                null=True,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="incidents.institution",
            ),
        ),
        migrations.AlterField(
            model_name="importjob",
            name="uploaded_by",
            field=models.ForeignKey(
                null=True,
                db_index=False,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RenameModel("ImportJob", "LegacyImportJob"),
        migrations.CreateModel(
            name="ImportJob",
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
                    "kind",
                    models.CharField(
                        choices=[
                            ("incidents", "Incidenten"),
                            ("enrolments", "Studentaantallen (DUO)"),
                            ("scores", "Veiligheidsscores (JOB/MO)"),
                        ],
                        max_length=12,
                        verbose_name="soort",
                    ),
                ),
                (
                    "file",
                    models.FileField(
                        blank=True,
                        upload_to=incidents.models._import_upload_path,
                        verbose_name="bestand",
                    ),
                ),
                ("original_name", models.CharField(max_length=255, verbose_name="bestandsnaam")),
                ("options", models.JSONField(blank=True, default=dict, verbose_name="opties")),
                ("summary", models.JSONField(blank=True, default=dict, verbose_name="samenvatting")),
                ("errors", models.JSONField(blank=True, default=list, verbose_name="fouten")),
                (
                    "error_count",
                    models.PositiveIntegerField(default=0, verbose_name="aantal fouten"),
                ),
                (
                    "validated_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="gecontroleerd op"),
                ),
                (
                    "institution",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="import_jobs",
                        to="incidents.institution",
                        verbose_name="instelling",
                    ),
                ),
            ],
            options={
                "verbose_name": "import",
                "verbose_name_plural": "imports",
                "ordering": ["-created_at"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("kind", "incidents"), _negated=True),
                            ("institution__isnull", False),
                            _connector="OR",
                        ),
                        name="import_job_incidents_have_institution",
                    )
                ],
            },
            bases=("miv.job",),
        ),
        migrations.RunPython(copy_jobs, migrations.RunPython.noop),
        migrations.DeleteModel("LegacyImportJob"),
    ]
