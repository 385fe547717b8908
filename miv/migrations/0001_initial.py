import uuid

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Job",
            fields=[
                ("id", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ("status", models.CharField(choices=[("queued", "In de wachtrij"), ("running", "Bezig"), ("validating", "Wordt gecontroleerd"), ("validated", "Gecontroleerd, wacht op bevestiging"), ("invalid", "Afgekeurd"), ("importing", "Wordt geïmporteerd"), ("done", "Klaar"), ("failed", "Mislukt"), ("cancelled", "Geannuleerd")], default="queued", max_length=12, verbose_name="status")),
                ("progress", models.PositiveSmallIntegerField(default=0, verbose_name="voortgang (%)")),
                ("step", models.CharField(blank=True, max_length=40, verbose_name="stap")),
                ("attempts", models.PositiveSmallIntegerField(default=0, verbose_name="pogingen")),
                ("error", models.TextField(blank=True, verbose_name="fout")),
                ("celery_task_id", models.CharField(blank=True, max_length=50)),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="aangemaakt op")),
                ("started_at", models.DateTimeField(blank=True, null=True, verbose_name="gestart op")),
                ("finished_at", models.DateTimeField(blank=True, null=True, verbose_name="klaar op")),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="bijgewerkt op")),
                ("requested_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL, verbose_name="aangevraagd door")),
            ],
            options={
                "verbose_name": "achtergrondtaak",
                "verbose_name_plural": "achtergrondtaken",
                "ordering": ["-created_at"],
                "indexes": [models.Index(fields=["status", "updated_at"], name="job_status_updated")],
            },
        ),
    ]
