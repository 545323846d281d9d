from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from mfa import passkeys, views

# django-otp-webauthn's endpoints, under its own namespace (its script reads them from there),
# with PartnerHub's conditions: no passwordless sign-in, adding needs a recent password.
passkey_patterns = (
    [
        path(
            "registration/begin/",
            passkeys.BeginPasskeyRegistration.as_view(),
            name="credential-registration-begin",
        ),
        path(
            "registration/complete/",
            passkeys.CompletePasskeyRegistration.as_view(),
            name="credential-registration-complete",
        ),
        path(
            "authentication/begin/",
            passkeys.BeginPasskeyAuthentication.as_view(),
            name="credential-authentication-begin",
        ),
        path(
            "authentication/complete/",
            passkeys.CompletePasskeyAuthentication.as_view(),
            name="credential-authentication-complete",
        ),
        path(
            "jsi18n/",
            JavaScriptCatalog.as_view(packages=["django_otp_webauthn"]),
            name="js-i18n-catalog",
        ),
    ],
    "otp_webauthn",
)

urlpatterns = [
    # The second step of sign-in and enrolment
    path("accounts/second-factor/", views.second_factor, name="second_factor"),
    path(
        "accounts/second-factor/authenticator-app/",
        views.enrol_authenticator_app,
        name="enrol_authenticator_app",
    ),
    path("accounts/second-factor/recovery-codes/", views.recovery_codes, name="recovery_codes"),
    path(
        "accounts/second-factor/recovery-codes.txt",
        views.recovery_codes_download,
        name="recovery_codes_download",
    ),
    path("accounts/passkeys/", include(passkey_patterns)),
    # Settings > My profile > Sign-in methods
    path("profile/sign-in-methods/", views.sign_in_methods, name="sign_in_methods"),
    path(
        "profile/sign-in-methods/<slug:kind>/<int:pk>/remove/",
        views.remove_sign_in_method,
        name="remove_sign_in_method",
    ),
    path(
        "profile/sign-in-methods/recovery-codes/",
        views.new_recovery_codes,
        name="new_recovery_codes",
    ),
    path("profile/sign-in-methods/passkey/", views.add_passkey, name="add_passkey"),
    # A Global admin resets another user's second factor
    path(
        "users/<uuid:public_id>/reset-second-factor/",
        views.reset_second_factor,
        name="reset_second_factor",
    ),
]
