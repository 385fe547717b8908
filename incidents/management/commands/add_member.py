from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from incidents.choices import Role
from incidents.models import Institution, Membership


class Command(BaseCommand):
    help = (
        "Give a user a role: registrar or coordinator of an institution (--institution BRIN), "
        "or researcher (sector-wide). Creates the user when missing; idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, help="registrar | coordinator | researcher")
        parser.add_argument("--institution", help="BRIN code (registrar and coordinator)")
        parser.add_argument("--password", help="set this password (otherwise unchanged/unusable)")
        parser.add_argument(
            "--named-access", action="store_true", help="researcher sees BRIN codes"
        )

    def handle(self, *args, username, role, institution, password, named_access, **options):
        if role not in Role.values:
            raise CommandError(f"Unknown role {role!r}; choose one of: {', '.join(Role.values)}.")
        inst = None
        if role == Role.RESEARCHER:
            if institution:
                raise CommandError("A researcher is sector-wide: leave out --institution.")
        else:
            if not institution:
                raise CommandError(f"--institution BRIN is required for role {role}.")
            inst = Institution.objects.filter(brin=institution.upper()).first()
            if inst is None:
                raise CommandError(f"Unknown institution (BRIN) {institution!r}.")

        User = get_user_model()
        with transaction.atomic():
            user, created = User.objects.get_or_create(username=username)
            if password:
                user.set_password(password)
                user.save()
            elif created:
                user.set_unusable_password()
                user.save()
            membership, m_created = Membership.objects.update_or_create(
                user=user,
                institution=inst,
                defaults={"role": role, "named_access": named_access and role == Role.RESEARCHER},
            )
        where = inst.brin if inst else "sector"
        self.stdout.write(
            f"{'Created' if created else 'Found'} user {username}; "
            f"{'added' if m_created else 'kept'} role {role} ({where})."
        )
