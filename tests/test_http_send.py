"""RequestsSend, the production HTTP sender, against a real loopback server: what it sends,
what it returns, and that requests to one URL never share headers or bodies."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import free_port

from ocpi_lite.push.http import RequestsSend, TransportError


class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a Receiver behind a proxy would be

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._answer({"method": "POST", "path": self.path, "body": body.decode(),
                      "headers": {k.lower(): v for k, v in self.headers.items()}})

    def do_GET(self):
        if self.path.endswith("/short"):  # promises 100 bytes, sends 10, hangs up
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.write(b'{"data": 1')
            self.close_connection = True
            return
        self._answer({"method": "GET", "path": self.path, "body": "", "port": self.client_address[1],
                      "headers": {k.lower(): v for k, v in self.headers.items()}})

    def _answer(self, echo: dict) -> None:
        data = json.dumps(echo).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Location", "http://127.0.0.1/somewhere")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def echo_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/ocpi/emsp/2.2.1/cdrs"
    server.shutdown()
    server.server_close()


def test_requests_to_one_url_carry_only_their_own_headers_and_body(echo_url):
    send = RequestsSend()
    first = send("POST", echo_url, headers={"Authorization": "Token a", "X-Request-ID": "r1"},
                 body=b'{"n":1}', timeout=5)
    second = send("POST", echo_url, headers={"Authorization": "Token b"}, body=b'{"n":22}', timeout=5)
    third = send("GET", echo_url + "?offset=5", headers={"Accept": "application/json"}, body=None, timeout=5)
    one, two, three = (json.loads(r.body) for r in (first, second, third))
    assert first.status == 201 and first.header("Location") == "http://127.0.0.1/somewhere"
    assert (one["body"], one["headers"]["authorization"], one["headers"]["x-request-id"]) == ('{"n":1}', "Token a", "r1")
    assert (two["body"], two["headers"]["authorization"], two["headers"]["content-length"]) == ('{"n":22}', "Token b", "8")
    assert "x-request-id" not in two["headers"]
    assert (three["method"], three["path"], three["body"]) == ("GET", "/ocpi/emsp/2.2.1/cdrs?offset=5", "")
    assert "authorization" not in three["headers"] and "content-length" not in three["headers"]


def test_no_answer_is_a_transport_error():
    with pytest.raises(TransportError):
        RequestsSend()("POST", f"http://127.0.0.1:{free_port()}/x", headers={}, body=b"{}", timeout=2)


def test_a_keep_alive_connection_is_used_again(echo_url):
    send = RequestsSend()
    ports = [json.loads(send("GET", echo_url, headers={}, body=None, timeout=5).body)["port"]
             for _ in range(3)]
    assert len(set(ports)) == 1


def test_a_body_cut_short_is_a_transport_error(echo_url):
    with pytest.raises(TransportError):
        RequestsSend()("GET", echo_url + "/short", headers={}, body=None, timeout=5)
