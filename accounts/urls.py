"""People and access, under ``/accounts/`` (next to Django's login and logout)."""

from django.urls import path

from . import invitation_views, manage_views, oidc, token_views

app_name = "accounts"

urlpatterns = [
    # Locations and members of an institution (coordinators: their own; administrators).
    path("institutions/", manage_views.index, name="index"),
    path("institutions/<str:brin>/locations/", manage_views.location_list, name="locations"),
    path(
        "institutions/<str:brin>/locations/<int:pk>/",
        manage_views.location_edit,
        name="location-edit",
    ),
    path(
        "institutions/<str:brin>/locations/<int:pk>/deactivate/",
        manage_views.location_active,
        {"active": False},
        name="location-deactivate",
    ),
    path(
        "institutions/<str:brin>/locations/<int:pk>/activate/",
        manage_views.location_active,
        {"active": True},
        name="location-activate",
    ),
    path(
        "institutions/<str:brin>/locations/<int:pk>/delete/",
        manage_views.location_delete,
        name="location-delete",
    ),
    path("institutions/<str:brin>/members/", manage_views.member_list, name="members"),
    path("institutions/<str:brin>/invite/", manage_views.invite, name="invite"),
    path("members/<int:pk>/", manage_views.member_edit, name="member-edit"),
    path(
        "members/<int:pk>/deactivate/",
        manage_views.member_active,
        {"active": False},
        name="member-deactivate",
    ),
    path(
        "members/<int:pk>/activate/",
        manage_views.member_active,
        {"active": True},
        name="member-activate",
    ),
    path("invitations/<int:pk>/resend/", manage_views.invitation_resend, name="invitation-resend"),
    path("invitations/<int:pk>/revoke/", manage_views.invitation_revoke, name="invitation-revoke"),
    path("researchers/", manage_views.researchers, name="researchers"),
    # The invitee's side.
    path("invitation/accept/", invitation_views.accept, name="invitation-accept"),
    path("invitation/<str:secret>/", invitation_views.invitation, name="invitation"),
    # API tokens of the user.
    path("tokens/", token_views.token_list, name="tokens"),
    path("tokens/revoke/", token_views.token_revoke, name="token-revoke"),
    # Sign-in with the institution account (OpenID Connect; 404 when not configured).
    path("oidc/login/", oidc.SignInView.as_view(), name="oidc-login"),
    path("oidc/callback/", oidc.CallbackView.as_view(), name="oidc-callback"),
    path("oidc/failed/", oidc.failure, name="oidc-failed"),
]
