"""CDR Sender GET /2.2.1/cpo/cdrs: pagination rules (design §6, digest §1.9), keyset cursor,
count cache, visibility per caller, GET one."""

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import add_registered_peer, decode, make_config, token_header
from webtest import TestApp

from ocpi_lite import OcpiLite
from ocpi_lite.models.common import format_datetime
from ocpi_lite.recording import decode_cdr
from ocpi_lite.store import Store

EXAMPLE = Path(__file__).resolve().parent / "fixtures/ocpi_examples/official/v2_2_1-d2__cdr_example.json"
URL = "/ocpi/2.2.1/cpo/cdrs"
BASE = datetime(2025, 3, 1, tzinfo=timezone.utc)
PAGE_LIMIT = 10


def cdr(number: int, emsp=("DE", "TNM"), *, second: int | None = None) -> dict:
    """CDR `c<number>` for eMSP `emsp`; three CDRs share each second unless told otherwise."""
    moment = BASE + timedelta(seconds=number // 3 if second is None else second)
    return json.loads(EXAMPLE.read_text()) | {
        "id": f"c{number}",
        "cdr_token": {"country_code": emsp[0], "party_id": emsp[1], "uid": "u1", "type": "RFID",
                      "contract_id": "C1"},
        "last_updated": format_datetime(moment),
    }


def at(second: int) -> str:
    return format_datetime(BASE + timedelta(seconds=second))


@pytest.fixture
def ocpi(tmp_path, clock):
    instance = OcpiLite(make_config(tmp_path, page_limit=PAGE_LIMIT), clock=clock)
    yield instance
    instance.close()


@pytest.fixture
def tnm(ocpi):
    """Token of a registered eMSP DE/TNM."""
    add_registered_peer(ocpi.store, "tnm-token", roles=(("EMSP", "DE", "TNM"),), label="TNM")
    return token_header("tnm-token")


@pytest.fixture
def client(ocpi):
    return TestApp(ocpi.app)


def record(ocpi, numbers, emsp=("DE", "TNM")) -> None:
    for number in numbers:
        ocpi.record_cdr(cdr(number, emsp))


def get(client, headers, url=URL, **params):
    response = client.get(url, params=params, headers=headers)
    assert response.status_int == 200
    return response, decode(response)


def ids(body) -> list[str]:
    return [item["id"] for item in body["data"]]


def follow(client, headers, url=URL, **params) -> list:
    """Every page from `url`, following Link; returns [(response, body)]."""
    pages = [get(client, headers, url, **params)]
    while "Link" in pages[-1][0].headers:
        link = pages[-1][0].headers["Link"]
        assert link.startswith("<http://127.0.0.1:8000/ocpi/2.2.1/cpo/cdrs?") and link.endswith('>; rel="next"')
        pages.append(get(client, headers, link[1:link.index(">")]))
        assert len(pages) < 100
    return pages


def link_query(response) -> dict:
    link = response.headers["Link"]
    return {k: v[0] for k, v in parse_qs(urlsplit(link[1:link.index(">")]).query).items()}


def test_following_link_serves_each_visible_cdr_once_oldest_first(ocpi, client, tnm):
    record(ocpi, range(23))
    record(ocpi, range(100, 105), emsp=("NL", "OTH"))
    pages = follow(client, tnm)
    assert [len(body["data"]) for _, body in pages] == [10, 10, 3]
    assert [i for _, body in pages for i in ids(body)] == [f"c{n}" for n in range(23)]
    for response, body in pages:
        assert response.headers["X-Total-Count"] == "23"
        assert response.headers["X-Limit"] == "10"
        assert body["status_code"] == 1000
    assert "Link" not in pages[-1][0].headers


@pytest.mark.parametrize("limit, pages", [(10, 2), (5, 4), (4, 5)])
def test_no_link_on_the_last_page_when_total_is_a_multiple_of_the_limit(ocpi, client, tnm, limit, pages):
    record(ocpi, range(20))
    followed = follow(client, tnm, limit=limit)
    assert len(followed) == pages and len(followed[-1][1]["data"]) == limit
    assert "Link" not in followed[-1][0].headers


def test_limit_is_clamped_and_x_limit_says_so(ocpi, client, tnm):
    record(ocpi, range(15))
    response, body = get(client, tnm, limit=5000)
    assert response.headers["X-Limit"] == "10" and len(body["data"]) == 10
    assert link_query(response)["limit"] == "10"
    response, body = get(client, tnm, limit=3)
    assert response.headers["X-Limit"] == "3" and len(body["data"]) == 3
    assert get(client, tnm)[0].headers["X-Limit"] == "10"


def test_link_is_absolute_and_keeps_every_filter(ocpi, client, tnm):
    record(ocpi, range(30))
    response, _ = get(client, tnm, date_from=at(1), date_to="2025-03-01T00:00:09", limit=4)
    query = link_query(response)
    assert query["offset"] == "4" and query["limit"] == "4"
    assert query["date_from"] == at(1) and query["date_to"] == "2025-03-01T00:00:09"
    assert "date_from=2025-03-01T00:00:01Z" in response.headers["Link"]  # readable, ':' kept
    assert query["after"]


def test_date_window_is_half_open(ocpi, client, tnm):
    record(ocpi, range(30))  # c0-c2 at second 0, c3-c5 at 1, …
    pages = follow(client, tnm, date_from=at(2), date_to=at(5), limit=4)
    assert [i for _, body in pages for i in ids(body)] == [f"c{n}" for n in range(6, 15)]
    assert {response.headers["X-Total-Count"] for response, _ in pages} == {"9"}
    for response, _ in pages[:-1]:
        assert link_query(response)["date_from"] == at(2) and link_query(response)["date_to"] == at(5)


def test_zero_width_window_is_an_empty_page(ocpi, client, tnm):
    record(ocpi, range(9))
    response, body = get(client, tnm, date_from=at(1), date_to=at(1))
    assert body["data"] == [] and response.headers["X-Total-Count"] == "0"
    assert "Link" not in response.headers


def test_offset_beyond_the_end_and_limit_zero_are_empty_pages(ocpi, client, tnm):
    record(ocpi, range(7))
    response, body = get(client, tnm, offset=50)
    assert body["data"] == [] and response.headers["X-Total-Count"] == "7" and "Link" not in response.headers
    response, body = get(client, tnm, limit=0)
    assert body["data"] == [] and response.headers["X-Total-Count"] == "7" and "Link" not in response.headers


def test_computed_offsets_give_the_same_pages_as_the_cursor(ocpi, client, tnm):
    record(ocpi, range(40))
    window = {"date_from": at(2), "date_to": at(12), "limit": 7}
    by_link = [ids(body) for _, body in follow(client, tnm, **window)]
    by_offset = [ids(get(client, tnm, offset=offset, **window)[1]) for offset in range(0, 36, 7)]
    assert by_link == by_offset[: len(by_link)] and by_offset[len(by_link):] == [[]]
    assert sum(map(len, by_link)) == 30


def test_cursor_decides_the_position_and_is_clamped_to_date_from(ocpi, client, tnm):
    record(ocpi, range(12))
    first, _ = get(client, tnm, limit=4)
    after = link_query(first)["after"]
    # A wrong offset next to the cursor: the cursor wins; offset is only carried on.
    response, body = get(client, tnm, limit=4, offset=99, after=after)
    assert ids(body) == ["c4", "c5", "c6", "c7"] and link_query(response)["offset"] == "103"
    # A cursor before date_from starts at date_from.
    _, body = get(client, tnm, limit=4, after=after, date_from=at(3))
    assert ids(body) == ["c9", "c10", "c11"]


@pytest.mark.parametrize("name, value", [
    ("date_from", "2025-03-01T00:00:00+01:00"),
    ("date_from", "2025-03-01T00:00:00 01:00"),  # what a raw '+' decodes to
    ("date_to", "2025-03-01"),
    ("date_to", "yesterday"),
    ("offset", "-1"),
    ("offset", "1.5"),
    ("limit", "-3"),
    ("limit", "ten"),
    ("limit", ""),
    ("after", "12"),
    ("after", "1.-2"),
])
def test_bad_parameters_are_2001_naming_the_parameter(client, tnm, name, value):
    response, body = get(client, tnm, **{name: value})
    assert body["status_code"] == 2001, body
    assert f"`{name}`" in body["status_message"]
    assert "data" not in body


def test_repeated_parameter_is_2001(client, tnm):
    _, body = get(client, tnm, url=URL + "?limit=1&limit=2")
    assert body["status_code"] == 2001 and "`limit`" in body["status_message"]


def test_each_party_sees_only_its_cdrs_and_a_hub_sees_all(ocpi, client, tnm):
    for number in range(12):  # interleaved: pk order is number order
        ocpi.record_cdr(cdr(number, ("DE", "TNM") if number % 2 == 0 else ("NL", "OTH")))
    ocpi.record_cdr(cdr(50, ("FR", "XXX")))
    add_registered_peer(ocpi.store, "two", roles=(("EMSP", "DE", "TNM"), ("EMSP", "nl", "oth")))
    add_registered_peer(ocpi.store, "hub", roles=(("HUB", "EU", "HUB"),))
    add_registered_peer(ocpi.store, "none", roles=(("EMSP", "BE", "NON"),))

    def seen(token, **params):
        pages = follow(client, token_header(token), **params)
        totals = {response.headers["X-Total-Count"] for response, _ in pages}
        return [i for _, body in pages for i in ids(body)], totals

    assert seen("tnm-token") == ([f"c{n}" for n in range(0, 12, 2)], {"6"})
    # Two roles: one index seek per code, merged in (last_updated, pk) order.
    assert seen("two", limit=4) == ([f"c{n}" for n in range(12)], {"12"})
    assert seen("hub", limit=5) == ([f"c{n}" for n in range(12)] + ["c50"], {"13"})
    assert seen("none") == ([], {"0"})


def test_received_cdrs_are_not_served(ocpi, client, tnm):
    received = decode_cdr(cdr(1))
    with ocpi.store.db.transaction() as tx:
        ocpi.store.cdrs.add(tx, received, b"{}", source="RECEIVED", sender=None, now="x")
    response, body = get(client, tnm)
    assert body["data"] == [] and response.headers["X-Total-Count"] == "0"
    assert client.get(URL + "/c1", headers=tnm, expect_errors=True).status_int == 404


def test_total_count_follows_new_cdrs_from_this_and_other_connections(ocpi, client, tnm, tmp_path):
    record(ocpi, range(3))
    assert get(client, tnm)[0].headers["X-Total-Count"] == "3"
    assert get(client, tnm)[0].headers["X-Total-Count"] == "3"  # cached
    ocpi.record_cdr(cdr(3))  # the app's own connection writes
    assert get(client, tnm)[0].headers["X-Total-Count"] == "4"
    other = Store(ocpi.config.server.database)  # another process, as the CLI would be
    try:
        from ocpi_lite.recording import record_cdr
        record_cdr(other, cdr(4), datetime.now(timezone.utc))
    finally:
        other.close()
    assert get(client, tnm)[0].headers["X-Total-Count"] == "5"


def test_registration_token_and_unknown_token_get_401(client, registration_token):
    for headers in (token_header(registration_token), token_header("nobody"), {}):
        for url in (URL, URL + "/c1"):
            response = client.get(url, headers=headers, expect_errors=True)
            assert response.status_int == 401 and decode(response)["status_code"] == 2000


def test_get_one_visible_cdr_or_404(ocpi, client, tnm):
    record(ocpi, [1])
    ocpi.record_cdr(cdr(2, ("NL", "OTH")))
    response = client.get(URL + "/C1", headers=tnm)  # ids match in any case
    assert decode(response)["data"] == json.loads(ocpi.store.cdrs.get("BE/BEC/c1").json)
    assert decode(response)["status_code"] == 1000
    for unseen in ("c2", "nope"):
        response = client.get(URL + "/" + unseen, headers=tnm, expect_errors=True)
        assert response.status_int == 404 and "data" not in decode(response)


def test_get_one_prefers_our_party_when_ids_collide(ocpi, client, tnm):
    ocpi.record_cdr(cdr(1) | {"country_code": "BE", "party_id": "AAA"})
    ocpi.record_cdr(cdr(1) | {"country_code": "NL", "party_id": "LIT"})  # our configured party
    body = decode(client.get(URL + "/c1", headers=tnm))
    assert (body["data"]["country_code"], body["data"]["party_id"]) == ("NL", "LIT")


def test_routing_headers_are_answered(ocpi, client, tnm):
    response = client.get(URL, headers=tnm | {"OCPI-from-country-code": "DE", "OCPI-from-party-id": "TNM"})
    assert response.headers["OCPI-to-party-id"] == "TNM" and response.headers["OCPI-from-party-id"] == "LIT"


def test_page_body_is_the_stored_bytes_joined(ocpi, client, tnm):
    record(ocpi, range(2))
    response = client.get(URL, headers=tnm)
    stored = [ocpi.store.cdrs.get(f"BE/BEC/c{n}").json for n in range(2)]
    assert response.body.startswith(b'{"data":[' + b",".join(stored) + b"],")


def test_remembered_offsets_give_the_pages_offset_would_also_after_writes(ocpi, client, tnm):
    record(ocpi, range(0, 60, 2))  # even numbers: later CDRs can land between them
    window = {"limit": 7}
    by_link = [ids(body) for _, body in follow(client, tnm, **window)]
    stepped = [ids(get(client, tnm, offset=offset, **window)[1]) for offset in range(0, 30, 7)]
    assert stepped == by_link  # each next offset was remembered by the page before it
    again = [ids(get(client, tnm, offset=offset, **window)[1]) for offset in (21, 21, 14, 28)]
    assert again == [by_link[3], by_link[3], by_link[2], by_link[4]]
    record(ocpi, [13])  # a CDR that sorts in the middle: every remembered position is stale
    shifted = [ids(get(client, tnm, offset=offset, **window)[1]) for offset in (21, 28)]
    after_write = [ids(body) for _, body in follow(client, tnm, **window)]
    assert shifted == [after_write[3], after_write[4]]
    assert shifted != [by_link[3], by_link[4]]


def test_a_repeated_page_is_the_same_until_a_write_from_any_connection(ocpi, client, tnm):
    record(ocpi, [3, 6])
    first, again = get(client, tnm)[1], get(client, tnm)[1]
    assert ids(first) == ids(again) == ["c3", "c6"]
    ocpi.record_cdr(cdr(0))  # this connection writes a CDR that sorts first
    assert ids(get(client, tnm)[1]) == ["c0", "c3", "c6"]
    other = Store(ocpi.config.server.database)  # another process, as the CLI would be
    try:
        from ocpi_lite.recording import record_cdr
        record_cdr(other, cdr(1), datetime.now(timezone.utc))
    finally:
        other.close()
    response, body = get(client, tnm)
    assert ids(body) == ["c0", "c1", "c3", "c6"] and response.headers["X-Total-Count"] == "4"


def test_kept_pages_are_bounded_and_each_request_keeps_its_own(ocpi, client, tnm):
    from ocpi_lite.resources.cdrs_sender import _PAGES_KEPT

    record(ocpi, range(40))
    for offset in range(40):  # more distinct requests than pages kept
        assert ids(get(client, tnm, offset=offset, limit=1)[1]) == [f"c{offset}"]
        kept = ocpi.store.cdrs.until_next_write("sender_pages", 10**9)  # a look that never clears
        assert 1 <= len(kept) <= _PAGES_KEPT
    # The same offset under another filter or limit is another page, not a kept one.
    assert ids(get(client, tnm, offset=5, limit=2)[1]) == ["c5", "c6"]
    assert ids(get(client, tnm, offset=5, limit=1, date_from=at(3))[1]) == ["c14"]
