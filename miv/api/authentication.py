"""API token authentication (django-rest-knox), without knox's sweep on every request.

knox deletes a user's expired tokens each time one of their tokens is used: one more query
on every API request, most of them on the registration path. Here an expired token is
simply refused, and expired tokens are deleted by the nightly task
:func:`miv.tasks.delete_expired_api_tokens`. (``_cleanup_token`` is knox's own hook; the
version is pinned in ``requirements.lock``.)
"""

from django.utils import timezone
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication as KnoxTokenAuthentication


class TokenAuthentication(KnoxTokenAuthentication):
    def _cleanup_token(self, auth_token) -> bool:
        """True when the token has expired (it is then skipped, never accepted)."""
        return auth_token.expiry is not None and auth_token.expiry < timezone.now()


class TokenScheme(KnoxTokenScheme):
    """The OpenAPI description of :class:`TokenAuthentication`: knox's, under its name."""

    target_class = "miv.api.authentication.TokenAuthentication"
