"""Acceptance of the CDR Sender with a real gunicorn, as a new user runs it: 10,000 CDRs for
three eMSPs imported with `ocpi-lite cdrs import`, each eMSP following Link from page one."""

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from conftest import add_registered_peer, token_header
from servers import Instance

from ocpi_lite.models.common import to_epoch_us
from ocpi_lite.samples import sample_cdr
from ocpi_lite.store import Store

EXAMPLE = Path(__file__).resolve().parent / "fixtures/ocpi_examples/official/v2_2_1-d2__cdr_example.json"
# Per 200 CDRs: 68 for A, 67 for B, 65 for C → 3,400 (a multiple of the page limit 100),
# 3,350 and 3,250.
EMSPS = {"a": ("NL", "EMA"), "b": ("NL", "EMB"), "c": ("BE", "EMC")}
SLOTS = ["a"] * 68 + ["b"] * 67 + ["c"] * 65
TOTAL = 10_000
PAGE_LIMIT = 100  # the default server.page_limit


@pytest.fixture(scope="module")
def cpo(tmp_path_factory):
    base = tmp_path_factory.mktemp("sender_e2e")
    instance = Instance(base, "cpo", push={"enabled": False})
    store = Store(instance.dir / "ocpi.db")
    for name, (cc, pid) in EMSPS.items():
        add_registered_peer(store, f"token-{name}", roles=(("EMSP", cc, pid),), label=name)
    add_registered_peer(store, "token-tnm", roles=(("EMSP", "DE", "TNM"),), label="tnm")
    store.close()

    cdrs = [sample_cdr(n, emsp=EMSPS[SLOTS[n % len(SLOTS)]]) for n in range(TOTAL)]
    (base / "cdrs.jsonl").write_text("\n".join(json.dumps(c) for c in cdrs) + "\n")
    imported = instance.cli("cdrs", "import", str(base / "cdrs.jsonl"))
    assert imported.stdout.strip() == f"imported {TOTAL}, unchanged 0, failed 0"
    assert "... 1000 records" in imported.stderr  # progress on a large file
    instance.cli("cdrs", "import", str(EXAMPLE))

    instance.start()
    instance.cdrs = cdrs
    yield instance
    instance.stop()


def url(instance) -> str:
    return f"{instance.public_url}/2.2.1/cpo/cdrs"


def get(instance, token: str, target: str, **params) -> requests.Response:
    response = requests.get(target, params=params, headers=token_header(token), timeout=10)
    assert response.status_code == 200 and response.json()["status_code"] == 1000, response.text
    return response


def follow(instance, token: str, **params) -> list[requests.Response]:
    pages = [get(instance, token, url(instance), **params)]
    while "Link" in pages[-1].headers:
        link = pages[-1].headers["Link"]
        assert link.startswith(f"<{url(instance)}?") and link.endswith('>; rel="next"')
        pages.append(get(instance, token, link[1:link.index(">")]))
    return pages


def expected_ids(instance, name: str, lo: int | None = None, hi: int | None = None) -> list[str]:
    """Ids of `name`'s CDRs in the order they must come: (last_updated, import order)."""
    mine = [(to_epoch_us(c["last_updated"]), n, c["id"]) for n, c in enumerate(instance.cdrs)
            if SLOTS[n % len(SLOTS)] == name]
    return [i for us, _, i in sorted(mine)
            if (lo is None or us >= lo) and (hi is None or us < hi)]


@pytest.mark.parametrize("name", sorted(EMSPS))
def test_each_emsp_following_link_gets_exactly_its_cdrs_once_oldest_first(cpo, name):
    pages = follow(cpo, f"token-{name}")
    want = expected_ids(cpo, name)
    got = [item["id"] for page in pages for item in page.json()["data"]]
    assert got == want and len(set(got)) == len(want)
    assert {page.headers["X-Total-Count"] for page in pages} == {str(len(want))}
    assert {page.headers["X-Limit"] for page in pages} == {str(PAGE_LIMIT)}
    assert len(pages) == -(-len(want) // PAGE_LIMIT)  # no extra empty page after an exact multiple
    assert "Link" not in pages[-1].headers
    assert name != "a" or len(want) % PAGE_LIMIT == 0


def test_limit_above_the_page_limit_is_clamped(cpo):
    page = get(cpo, "token-a", url(cpo), limit=5000)
    assert page.headers["X-Limit"] == str(PAGE_LIMIT) and len(page.json()["data"]) == PAGE_LIMIT
    assert "limit=100" in page.headers["Link"]


def test_date_window_is_half_open_and_link_keeps_it(cpo):
    ordered = expected_ids(cpo, "b")
    by_id = {c["id"]: c["last_updated"] for c in cpo.cdrs}
    date_from, date_to = by_id[ordered[500]], by_id[ordered[1234]]
    pages = follow(cpo, "token-b", date_from=date_from, date_to=date_to, limit=90)
    got = [item["id"] for page in pages for item in page.json()["data"]]
    assert got == ordered[500:1234]
    for page in pages[:-1]:
        query = parse_qs(urlsplit(page.headers["Link"][1:page.headers["Link"].index(">")]).query)
        assert query["date_from"] == [date_from] and query["date_to"] == [date_to]
    assert {page.headers["X-Total-Count"] for page in pages} == {"734"}
    empty = get(cpo, "token-b", url(cpo), date_from=date_from, date_to=date_from)
    assert empty.json()["data"] == [] and empty.headers["X-Total-Count"] == "0"
    assert "Link" not in empty.headers


def test_official_example_is_returned_with_the_same_values_and_its_credit_after_it(cpo):
    original = json.loads(EXAMPLE.read_text())
    one = get(cpo, "token-tnm", f"{url(cpo)}/12345").json()["data"]
    assert one == original
    credited = cpo.cli("cdrs", "credit", "12345")
    assert "BE/BEC/12345-C" in credited.stdout
    listed = [item for page in follow(cpo, "token-tnm") for item in page.json()["data"]]
    assert [item["id"] for item in listed] == ["12345", "12345-C"]
    assert listed[0] == original
    credit = listed[1]
    assert credit["credit"] is True and credit["credit_reference_id"] == "12345"
    assert credit["total_cost"] == {"excl_vat": -4.0, "incl_vat": -4.4}
    assert {k: v for k, v in credit.items() if k not in ("id", "credit", "credit_reference_id",
                                                         "total_cost", "last_updated")} == \
        {k: v for k, v in original.items() if k not in ("id", "total_cost", "last_updated")}
    # Nobody else sees the example or its credit.
    assert requests.get(f"{url(cpo)}/12345", headers=token_header("token-a"), timeout=10).status_code == 404
