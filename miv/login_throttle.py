"""The login throttle: django-axes with two limits, one per username and one per address.

* **Per username, from any address** (``AXES_FAILURE_LIMIT``, default 5): a password is
  guessed from many addresses as easily as from one, so failures of a username count
  wherever they come from. After the limit that username is refused for the cool-off
  (``AXES_COOLOFF_MINUTES``, default 15), even with the right password.
* **Per address, for any username** (``MIV_LOGIN_IP_FAILURE_LIMIT``, default 30): one
  address trying many usernames (password spraying) is stopped too. The limit is higher,
  because a school network or a proxy puts many honest users behind one address.

Against locking colleagues out: anyone who knows a username can lock it for one cool-off;
the lock ends by itself, an administrator lifts it at once (``manage.py
axes_reset_username NAME``), and the per-address limit stops one address from locking out
more than a few accounts. The address is the client's, not the proxy's
(:mod:`miv.clientip`, ``MIV_TRUSTED_PROXIES``). A successful login clears the failures of
that username only, so an attacker cannot clear their address's count by logging in to an
account of their own.
"""

from __future__ import annotations

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum


def address_limit() -> int:
    return int(getattr(settings, "MIV_LOGIN_IP_FAILURE_LIMIT", 30))


class LoginThrottleHandler(AxesDatabaseHandler):
    """``AXES_HANDLER``. ``AXES_LOCKOUT_PARAMETERS`` is ``["username", "ip_address"]``:
    axes records every failure and checks both; this handler gives each its own limit."""

    def _failures(self, request, credentials) -> tuple[int, int]:
        by_username, by_address = self.get_user_attempts(request, credentials)

        def total(attempts) -> int:
            return attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0

        username = get_client_username(request, credentials)
        return (total(by_username) if username else 0), total(by_address)

    def get_failures(self, request, credentials=None) -> int:
        """The username's failures, or the username limit once the address reached its own
        limit: axes compares this one number with ``AXES_FAILURE_LIMIT``."""
        by_username, by_address = self._failures(request, credentials)
        if by_address >= address_limit():
            return max(by_username, get_failure_limit(request, credentials))
        return by_username

    def reset_user_attempts(self, request, credentials=None) -> int:
        """After a successful login: that username's failures, not the address's."""
        username = get_client_username(request, credentials)
        if not username:
            return 0
        count, _ = AccessAttempt.objects.filter(username=username).delete()
        return count
