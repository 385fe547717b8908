"""The login page: username and password, and, when configured, the institution account."""

from django.contrib.auth import views as auth_views

from .oidc import oidc_enabled


class LoginView(auth_views.LoginView):
    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["oidc_enabled"] = oidc_enabled()
        return context
