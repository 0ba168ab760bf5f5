"""A webhook receiver for tests: a real HTTP server on loopback that checks each request's signature and
timestamp with the code docs/notifications.md gives a receiver (not the product's own signing module, so a
mistake made on both sides is still caught)."""

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = "whsec-test-0123456789"


def verify(secret: str, body: bytes, headers) -> None:
    """docs/notifications.md, "Verifying a request"."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(headers.get("X-Entrabackup-Signature", ""), expected):
        raise ValueError("bad signature")
    stamp = headers.get("X-Entrabackup-Timestamp", "")
    if not stamp.isdigit() or json.loads(body).get("timestamp") != int(stamp):
        raise ValueError("timestamp missing or not the signed one")
    if abs(time.time() - int(stamp)) > 300:
        raise ValueError("timestamp too old: a replay?")


class Receiver:
    """A webhook receiver on loopback that verifies each request and keeps (headers, body, error)."""

    def __init__(self, port: int = 0, secret: str = SECRET):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                try:
                    verify(secret, body, self.headers)
                    error = None
                except ValueError as exc:
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
