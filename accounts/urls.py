from django.contrib.auth import views as auth_views
from django.urls import path

from accounts.forms.sign_in import SignInForm
from accounts.views import add_user, audit_log, common, directory, membership, profile, user
from accounts.views.reauth import confirm_password
from roles import views as role_views

urlpatterns = [
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            authentication_form=SignInForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/confirm-password/", confirm_password, name="confirm_password"),
    # Settings > User management
    path("users/", directory.directory, name="directory"),
    path("users/add/", add_user.AddUserWizard.as_view(), name="add_user"),
    path("users/add/preview/", add_user.access_preview, name="access_preview"),
    path("users/<uuid:public_id>/", user.user_detail, name="user_detail"),
    path("users/<uuid:public_id>/edit/", user.edit_user, name="edit_user"),
    path("users/<uuid:public_id>/roles/", role_views.edit_roles, name="edit_roles"),
    path("users/<uuid:public_id>/reset-password/", user.reset_password, name="reset_password"),
    path(
        "users/<uuid:public_id>/temporary-password/",
        common.temporary_password,
        name="temporary_password",
    ),
    path("users/<uuid:public_id>/deactivate/", user.deactivate_user, name="deactivate_user"),
    path("users/<uuid:public_id>/reactivate/", user.reactivate_user, name="reactivate_user"),
    path("users/<uuid:public_id>/delete/", user.delete_user, name="delete_user"),
    # Settings > Audit log
    path("audit-log/", audit_log.audit_log, name="audit_log"),
    path("audit-log/export.csv", audit_log.audit_log_export, name="audit_log_export"),
    # Settings > My profile
    path("profile/", profile.my_profile, name="profile"),
    path("profile/password/", profile.change_password, name="change_password"),
    # Workspaces
    path("membership/", membership.membership, name="membership"),
    path("membership/maps/", membership.purchase_maps, name="purchase_maps"),
]
