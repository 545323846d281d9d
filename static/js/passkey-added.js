// After django-otp-webauthn's script registered a passkey, show the sign-in methods with it.
const passkeyArea = document.getElementById("passkey-added");
if (passkeyArea) {
  passkeyArea.addEventListener("otp_webauthn.register_complete", () => {
    window.location.assign(passkeyArea.dataset.next);
  });
}
