from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from knox.models import AuthToken


class Command(BaseCommand):
    help = "Create an API token for a user; the token is printed as the last line (once)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--days", type=int, default=90, help="valid for N days (default 90)")

    def handle(self, *args, username, days, **options):
        if days < 1:
            raise CommandError("--days must be at least 1.")
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"Unknown or inactive user {username!r}.")
        instance, token = AuthToken.objects.create(user=user, expiry=timedelta(days=days))
        self.stdout.write(f"Token for {username}, valid until {instance.expiry:%Y-%m-%d %H:%M}:")
        self.stdout.write(token)
