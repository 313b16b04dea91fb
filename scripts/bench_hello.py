"""The ceiling of this stack on this machine: a Falcon hello-world, served by scripts/bench.py
with the same gunicorn settings as ocpi_lite (``gunicorn --pythonpath scripts bench_hello:app``)."""

import falcon


class Hello:
    def on_get(self, req, resp):
        resp.content_type = falcon.MEDIA_TEXT
        resp.data = b"Hello, world!"


app = falcon.App()
app.add_route("/", Hello())
