"""Sign-in and sign-out, at the unnamespaced names Django's auth settings use (``login``,
``logout``); included by the project's URLs under ``accounts/``."""

from django.contrib.auth import views as auth_views
from django.urls import path

from .login_views import LoginView

urlpatterns = [
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
