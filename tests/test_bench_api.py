"""bench/api.py on a tiny dataset: the REST API's and SCIM's timings come with numbers."""

from __future__ import annotations

import pytest

from api.models import ApiClient
from bench import api as api_bench
from bench import dataset


@pytest.mark.postgresql
def test_it_measures_the_api_and_scim_and_revokes_its_client(db: None) -> None:
    dataset.load(users=300, organizations=5, large=120)

    lines = api_bench.describe(dataset.find_actors(), requests=3)

    assert [line.split(": median")[0] for line in lines] == [
        "REST: the roles (the floor)",
        "REST: a page of users (50)",
        "SCIM: userName eq (one user)",
    ]
    assert all("p95" in line and "queries" in line for line in lines)
    assert ApiClient.objects.get(name="Bench").is_revoked
