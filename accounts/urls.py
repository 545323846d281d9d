from django.urls import path

from accounts.views import (
    add_user,
    audit_log,
    bulk,
    directory,
    find,
    invitation,
    membership,
    password_reset,
    profile,
    roles_overview,
    sign_in,
    user,
)
from accounts.views import import_users as csv_import
from accounts.views.reauth import confirm_password
from roles import views as role_views

urlpatterns = [
    path("accounts/login/", sign_in.SignInView.as_view(), name="login"),
    path("accounts/logout/", sign_in.SignOutView.as_view(), name="logout"),
    path("accounts/confirm-password/", confirm_password, name="confirm_password"),
    # Forgot password? and invitations: anonymous, one-time emailed links
    path(
        "accounts/password-reset/",
        password_reset.ForgotPasswordView.as_view(),
        name="password_reset",
    ),
    path(
        "accounts/password-reset/sent/",
        password_reset.ForgotPasswordSentView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        password_reset.ResetPasswordFromLinkView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        password_reset.PasswordChangedView.as_view(),
        name="password_reset_complete",
    ),
    path("invitation/<uidb64>/<token>/", invitation.accept_invitation, name="accept_invitation"),
    # Settings > User management
    path("users/", directory.directory, name="directory"),
    # The header's search: one match goes to the user's page, more to the directory.
    path("users/find/", find.find_user, name="find_user"),
    path("users/export.csv", directory.directory_export, name="directory_export"),
    path("users/roles/", roles_overview.roles_overview, name="roles_overview"),
    path("users/bulk/", bulk.bulk_confirm, name="bulk_confirm"),
    path("users/bulk/apply/", bulk.bulk_apply, name="bulk_apply"),
    path("users/bulk/result/", bulk.bulk_result, name="bulk_result"),
    path("users/add/", add_user.add_user, name="add_user"),
    path("users/add/preview/", add_user.access_preview, name="access_preview"),
    path(
        "users/add/<uuid:run>/<slug:step>/",
        add_user.AddUserWizard.as_view(),
        name="add_user_step",
    ),
    path("users/import/", csv_import.import_users, name="import_users"),
    path(
        "users/import/<uuid:import_id>/",
        csv_import.import_users_detail,
        name="import_users_detail",
    ),
    path(
        "users/import/<uuid:import_id>/progress/",
        csv_import.import_users_progress,
        name="import_users_progress",
    ),
    path(
        "users/import/<uuid:import_id>/confirm/",
        csv_import.import_users_confirm,
        name="import_users_confirm",
    ),
    path(
        "users/import/<uuid:import_id>/<str:step>.csv",
        csv_import.import_users_file,
        name="import_users_file",
    ),
    path(
        "users/import/template.csv",
        csv_import.import_users_template,
        name="import_users_template",
    ),
    path("users/<uuid:public_id>/", user.user_detail, name="user_detail"),
    path("users/<uuid:public_id>/edit/", user.edit_user, name="edit_user"),
    path("users/<uuid:public_id>/roles/", role_views.edit_roles, name="edit_roles"),
    path(
        "users/<uuid:public_id>/roles/preview/",
        role_views.edit_roles_preview,
        name="edit_roles_preview",
    ),
    path("users/<uuid:public_id>/reset-password/", user.reset_password, name="reset_password"),
    path("users/<uuid:public_id>/deactivate/", user.deactivate_user, name="deactivate_user"),
    path("users/<uuid:public_id>/reactivate/", user.reactivate_user, name="reactivate_user"),
    path("users/<uuid:public_id>/delete/", user.delete_user, name="delete_user"),
    path(
        "users/<uuid:public_id>/resend-invitation/",
        user.resend_invitation,
        name="resend_invitation",
    ),
    path("users/<uuid:public_id>/added/", add_user.user_added, name="user_added"),
    # Settings > Audit log
    path("audit-log/", audit_log.audit_log, name="audit_log"),
    path("audit-log/export/", audit_log.audit_log_export, name="audit_log_export"),
    path(
        "audit-log/exports/<uuid:export_id>.csv",
        audit_log.audit_log_export_file,
        name="audit_log_export_file",
    ),
    # Settings > My profile
    path("profile/", profile.my_profile, name="profile"),
    path("profile/password/", profile.change_password, name="change_password"),
    path("profile/theme/", profile.save_theme, name="profile_theme"),
    path(
        "profile/sign-out-everywhere/",
        profile.sign_out_everywhere,
        name="sign_out_everywhere",
    ),
    # Workspaces
    path("membership/", membership.membership, name="membership"),
    path("membership/maps/", membership.purchase_maps, name="purchase_maps"),
]
