"""Request bodies are capped before anything reads them (partnerhub.request_size): a 2 GB POST
to the sign-in page is refused with 413 from its declared length, its body never read; only the
CSV import takes more, up to its file's limit; a body without a length is refused."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpRequest
from django.test import RequestFactory
from django.urls import resolve, reverse

from accounts import imports
from jobs.models import UserImport
from jobs.testing import run_ready_jobs
from partnerhub.request_size import MULTIPART_ENVELOPE_BYTES, body_limit

SIGN_IN = reverse("login")
IMPORT = reverse("import_users")
TWO_GB = 2 * 1024**3
MULTIPART = "multipart/form-data; boundary=BoUnDaRy"


def request_for(path: str) -> HttpRequest:
    assert resolve(path)  # a real address
    return RequestFactory().post(path)


class Untouchable:
    """A request body that fails the test if anything reads it."""

    def read(self, *args: object) -> bytes:
        raise AssertionError("the body was read")

    readline = read

    def __iter__(self):
        raise AssertionError("the body was read")


def post_claiming(client, path: str, length: int, content_type: str = MULTIPART, **extra):
    """A POST whose Content-Length says `length`, with a body that must not be read."""
    return client.generic(
        "POST",
        path,
        b"x",
        content_type=content_type,
        CONTENT_LENGTH=str(length),
        **{"wsgi.input": Untouchable()},
        **extra,
    )


@pytest.mark.parametrize("content_type", [MULTIPART, "application/x-www-form-urlencoded"])
def test_a_2_gb_post_to_the_sign_in_page_is_refused_before_its_body_is_read(
    client, db, content_type
):
    response = post_claiming(client, SIGN_IN, TWO_GB, content_type)

    assert response.status_code == 413
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert "Request too large" in response.content.decode()
    assert "at most 1 MB" in response.content.decode()
    assert len(response.content) < 200


def test_a_signed_in_page_refuses_a_huge_body_too(client, csp):
    client.force_login(csp.global_admin)

    response = post_claiming(client, reverse("add_user"), settings.PARTNERHUB_MAX_REQUEST_BYTES + 1)

    assert response.status_code == 413


def test_a_body_within_the_limit_reaches_the_page(client, db):
    response = client.post(SIGN_IN, {"username": "nobody@contoso.example", "password": "x"})

    assert response.status_code == 200
    assert b"The email or password is not right." in response.content


def test_the_csv_import_accepts_its_file_limit_and_nothing_more(client, csp):
    client.force_login(csp.global_admin)
    limit = imports.MAX_BYTES + MULTIPART_ENVELOPE_BYTES

    assert body_limit(request_for(IMPORT)) == limit
    assert body_limit(request_for(SIGN_IN)) == settings.PARTNERHUB_MAX_REQUEST_BYTES
    assert post_claiming(client, IMPORT, limit + 1).status_code == 413
    assert post_claiming(client, IMPORT, TWO_GB).status_code == 413


def test_a_csv_file_near_its_limit_is_sent_through_to_the_form(client, csp):
    # Over the site-wide limit, within the import's: the form reads and checks it.
    client.force_login(csp.global_admin)
    row = "Ada,Lovelace,ada{}@import.example,Referrals admin\n"
    text = "First name,Last name,Email,Roles\n"
    while len(text) < settings.PARTNERHUB_MAX_REQUEST_BYTES + 1000:
        text += row.format(len(text))
    file = SimpleUploadedFile("people.csv", text.encode(), "text/csv")

    response = client.post(IMPORT, {"file": file})

    # Kept, and its check left to a worker, which counts its rows.
    assert response.status_code == 302
    assert bytes(UserImport.objects.get().content) == text.encode()
    run_ready_jobs(only="jobs.tasks.check_import")
    assert UserImport.objects.get().rows_total == text.count("\n") - 1


def test_a_file_just_over_the_csv_limit_is_explained_next_to_the_field(client, csp):
    # Within the request's limit (the envelope's room), over the file's: the form says so.
    client.force_login(csp.global_admin)
    file = SimpleUploadedFile("people.csv", b"x" * (imports.MAX_BYTES + 1), "text/csv")

    response = client.post(IMPORT, {"file": file})

    assert response.status_code == 200
    assert response.context["form"].errors["file"] == [imports.TOO_BIG]


def test_the_upload_form_tells_its_script_the_limit(client, csp):
    client.force_login(csp.global_admin)

    page = client.get(IMPORT).content.decode()

    assert f'data-max-bytes="{imports.MAX_BYTES}"' in page


def test_a_chunked_body_without_a_length_is_refused_unread(client, db):
    response = client.generic(
        "POST",
        SIGN_IN,
        b"",
        content_type=MULTIPART,
        HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input": Untouchable()},
    )

    assert response.status_code == 411
    assert "Length required" in response.content.decode()


@pytest.mark.parametrize("length", ["-1", "12abc", "1e9", "\u00b2", "\u0663"])
def test_a_length_that_is_not_a_number_is_refused(client, db, length):
    response = client.generic("POST", SIGN_IN, b"", content_type=MULTIPART, CONTENT_LENGTH=length)

    assert response.status_code == 400


def test_djangos_own_limits_agree_with_the_middleware():
    import_limit = imports.MAX_BYTES + MULTIPART_ENVELOPE_BYTES
    # Form fields: the site-wide limit. Files: whatever is let in stays in memory, never on disk.
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == settings.PARTNERHUB_MAX_REQUEST_BYTES
    assert import_limit <= settings.FILE_UPLOAD_MAX_MEMORY_SIZE
    assert settings.MIDDLEWARE.index("partnerhub.request_size.RequestSizeLimitMiddleware") == 1
