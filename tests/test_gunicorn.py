"""A real `gunicorn "ocpi_lite.app:get_app()" --workers 2` on a free loopback port, over HTTP."""

import base64

import pytest
import requests
from servers import Instance


@pytest.fixture
def server(tmp_path):
    instance = Instance(tmp_path, "cpo")
    yield instance
    instance.kill_all()


def test_gunicorn_serves_versions_and_details(server):
    token = server.cli("token", "create", "--name", "emsp").stdout.split("token: ")[1].split()[0]
    server.start(workers=2)
    encoded = base64.b64encode(token.encode()).decode()
    for header in (f"Token {encoded}", f"Token {token}"):
        response = requests.get(server.versions_url, headers={"Authorization": header,
                                                              "X-Request-ID": "r-1"}, timeout=5)
        assert response.status_code == 200
        assert response.headers["X-Request-ID"] == "r-1"
        body = response.json()
        assert body["status_code"] == 1000
        (v221,) = [v for v in body["data"] if v["version"] == "2.2.1"]
        details = requests.get(v221["url"], headers={"Authorization": header}, timeout=5).json()
        assert details["data"]["version"] == "2.2.1"

    assert requests.get(server.versions_url, timeout=5).status_code == 401
    assert requests.get(server.versions_url, headers={"Authorization": "Token nope"}, timeout=5).status_code == 401
    missing = requests.get(f"{server.public_url}/nothing", timeout=5)
    assert missing.status_code == 404 and missing.json()["status_code"] == 2000
    wrong = requests.post(server.versions_url, headers={"Authorization": f"Token {encoded}"}, timeout=5)
    assert wrong.status_code == 405 and "timestamp" in wrong.json()


def test_gunicorn_refuses_to_start_on_a_misspelt_key(server):
    server.config_path.write_text(server.config_path.read_text() + "\nbogus_key = 1\n")
    with pytest.raises(AssertionError, match="unknown key `push.bogus_key`"):
        server.start(workers=1)
