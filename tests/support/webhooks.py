"""A webhook receiver for tests: a real HTTP server on loopback that checks each request's signature and
timestamp the way docs/notifications.md tells a receiver to."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from notifications import signing

SECRET = "whsec-test-0123456789"


class Receiver:
    """A webhook receiver on loopback that verifies each request and keeps (headers, body, error)."""

    def __init__(self, port: int = 0, secret: str = SECRET):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                try:
                    signing.verify(secret, body, self.headers)
                    error = None
                except signing.SignatureError as exc:
                    error = str(exc)
                received.append((dict(self.headers), json.loads(body), error))
                self.send_response(401 if error else 204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
