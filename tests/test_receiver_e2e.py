"""Acceptance of the CDR Receiver over real HTTP: a gunicorn with roles EMSP, a registered CPO
peer, driven with `requests` as a new user would, URLs discovered from versions and details."""

import base64
import copy
import json
import sqlite3
from pathlib import Path

import pytest
import requests
from conftest import add_registered_peer
from servers import Instance

from ocpi_lite.store import Store

EXAMPLES = Path(__file__).resolve().parent / "fixtures" / "ocpi_examples"
TOKEN = "e2e-cpo-token"
HEADERS = {"Authorization": "Token " + base64.b64encode(TOKEN.encode()).decode()}


@pytest.fixture(scope="module")
def emsp(tmp_path_factory):
    instance = Instance(tmp_path_factory.mktemp("receiver"), "emsp", roles=("EMSP",),
                        country_code="DE", party_id="TNM")
    store = Store(instance.dir / "ocpi.db")
    add_registered_peer(store, TOKEN, roles=(("CPO", "BE", "BEC"),), label="cpo")
    store.close()
    instance.start(workers=2)
    yield instance
    instance.kill_all()


@pytest.fixture(scope="module")
def receiver_url(emsp) -> str:
    versions = requests.get(emsp.versions_url, headers=HEADERS, timeout=5).json()["data"]
    (details_url,) = [v["url"] for v in versions if v["version"] == "2.2.1"]
    endpoints = requests.get(details_url, headers=HEADERS, timeout=5).json()["data"]["endpoints"]
    (url,) = [e["url"] for e in endpoints if e["identifier"] == "cdrs" and e["role"] == "RECEIVER"]
    return url


def load(name: str) -> dict:
    return json.loads((EXAMPLES / name).read_text())


def official() -> dict:
    # "its party set to the registered CPO's": the example's party already is BE/BEC.
    return load("official/v2_2_1-d2__cdr_example.json") | {"country_code": "BE", "party_id": "BEC"}


def push(url: str, payload: dict) -> requests.Response:
    return requests.post(url, data=json.dumps(payload), timeout=5,
                         headers=HEADERS | {"Content-Type": "application/json"})


def stored_rows(emsp, key: str | None = None) -> list[tuple]:
    with sqlite3.connect(emsp.dir / "ocpi.db") as conn:
        if key is None:
            return conn.execute("SELECT cdr_key, source FROM cdrs").fetchall()
        return conn.execute("SELECT cdr_key, source FROM cdrs WHERE cdr_key = ?", (key,)).fetchall()


def assert_2001_naming(response: requests.Response, field: str) -> None:
    body = response.json()
    assert response.status_code == 200 and body["status_code"] == 2001, body
    assert f"`{field}`" in body["status_message"], body
    assert "Location" not in response.headers


def test_official_example_201_get_and_idempotent_retry(emsp, receiver_url):
    first = push(receiver_url, official())
    assert first.status_code == 201 and first.json()["status_code"] == 1000
    location = first.headers["Location"]
    assert location == f"{receiver_url}/BE/BEC/12345"

    fetched = requests.get(location, headers=HEADERS, timeout=5)
    assert fetched.status_code == 200 and fetched.json()["data"] == official()

    again = push(receiver_url, official())
    assert again.status_code == 200 and again.json()["status_code"] == 1000
    assert again.headers["Location"] == location
    assert stored_rows(emsp, "BE/BEC/12345") == [("BE/BEC/12345", "RECEIVED")]


@pytest.mark.parametrize("name, field", [
    ("third_party/extrawest_tests_cdr_v221_sloppy.json", "start_date_time"),
    ("third_party/izivia_ocpi_toolkit_cdr_all_fields_placeholders.json", "cdr_token.country_code"),
    ("third_party/ocn_tools_mock_cdr_ocpi22.json", "cdr_token.country_code"),
    ("official/v2_3_0__cdr_example.json", "total_cost.excl_vat"),
])
def test_non_conformant_payloads_are_refused_and_nothing_stored(emsp, receiver_url, name, field):
    payload = load(name) | {"country_code": "BE", "party_id": "BEC", "id": f"bad-{len(name)}"}
    assert_2001_naming(push(receiver_url, payload), field)
    assert stored_rows(emsp, f"BE/BEC/BAD-{len(name)}") == []


def test_extra_unknown_field_is_accepted(emsp, receiver_url):
    payload = official() | {"id": "custom-1", "custom_data": {"vendor": "x"}}
    response = push(receiver_url, payload)
    assert response.status_code == 201
    data = requests.get(response.headers["Location"], headers=HEADERS, timeout=5).json()["data"]
    assert data["id"] == "custom-1" and "custom_data" not in data


def test_credit_cdr_39_characters_and_normal_cdr_37(emsp, receiver_url):
    credit_id = "X" * 37 + "-C"
    credit = official() | {"id": credit_id, "credit": True, "credit_reference_id": "12345",
                           "total_cost": {"excl_vat": -4.0, "incl_vat": -4.4}}
    response = push(receiver_url, credit)
    assert len(credit_id) == 39 and response.status_code == 201
    fetched = requests.get(response.headers["Location"], headers=HEADERS, timeout=5).json()
    assert fetched["data"]["id"] == credit_id

    assert_2001_naming(push(receiver_url, official() | {"id": "N" * 37}), "id")
    assert stored_rows(emsp, "BE/BEC/" + "N" * 37) == []


def test_foreign_party_and_conflicting_body_are_2001(emsp, receiver_url):
    assert_2001_naming(push(receiver_url, official() | {"party_id": "OTH", "id": "f-1"}), "party_id")
    assert stored_rows(emsp, "BE/OTH/F-1") == []

    original = official() | {"id": "conflict-1"}
    location = push(receiver_url, original).headers["Location"]
    changed = copy.deepcopy(original)
    changed["total_energy"] = 99.0
    assert_2001_naming(push(receiver_url, changed), "id")
    fetched = requests.get(location, headers=HEADERS, timeout=5).json()["data"]
    assert fetched == original
