"""HTTPS plumbing: a ThreadingHTTPServer (HTTP/1.1 keep-alive, daemon threads) on 127.0.0.1 that routes to
the identity endpoints, Microsoft Graph and the /_emulator control plane."""

from __future__ import annotations

import socket
import ssl
import sys
import threading
import time
import traceback
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from graph_emulator import control_api, identity, pipeline
from graph_emulator.common import GraphError, Response, json_response, request_ids
from graph_emulator.odata import TokenCodec
from graph_emulator.pki import ensure_pki, ensure_secret_file
from graph_emulator.store import Store
from graph_emulator.throttle import Throttler


class Emulator:
    """Everything one running emulator owns; shared by all handler threads."""

    def __init__(self, state_dir: Path, log: bool = False):
        self.state_dir = state_dir.resolve()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.pki = ensure_pki(self.state_dir)
        self.admin_key_path = self.state_dir / "admin.key"
        self.admin_key = ensure_secret_file(self.admin_key_path)
        self.codec = TokenCodec(ensure_secret_file(self.state_dir / "pki" / "paging.key"))
        self.store = Store(self.state_dir)
        self.validator = identity.TokenValidator(self.pki, self.store)
        self.log = log
        self.base = ""
        self.throttler = Throttler()

    def warm(self) -> None:
        """Generate known tenants in the background so the first request doesn't pay for it."""
        def run():
            for t in list(self.store.tenants.values()):
                t.ensure_loaded()
        threading.Thread(target=run, daemon=True, name="warm-tenants").start()

    def handle(self, method: str, raw_path: str, headers, body: bytes) -> Response | str:
        """Route one request. May return the strings 'reset'/'truncate:<n>' for injected faults."""
        url = urllib.parse.urlsplit(raw_path)
        path = url.path
        try:
            if path.startswith("/_emulator/"):
                return control_api.handle(self, method, path, url.query, headers, body)
            if path.startswith(("/v1.0/", "/beta/")) or path in ("/v1.0", "/beta"):
                return pipeline.graph_request(self, method, path, url.query, headers, body)
            return self._identity(method, path, headers, body)
        except GraphError as err:
            return err.response(headers.get("client-request-id"))
        except Exception:  # a bug of ours must still answer like the service does: a 500 with an error body
            traceback.print_exc(file=sys.stderr)
            return json_response(500, {"error": {"code": "UnknownError", "message": "", "innerError": {
                "date": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()), **request_ids(headers)}}})

    def _identity(self, method: str, path: str, headers, body: bytes) -> Response:
        parts = [p for p in path.split("/") if p]
        if len(parts) < 2:
            return json_response(404, {"error": "not_found"})
        tenant = self.store.resolve(urllib.parse.unquote(parts[0]))
        rest = "/".join(parts[1:])
        known = rest in ("v2.0/.well-known/openid-configuration", "oauth2/v2.0/token", "discovery/v2.0/keys")
        if not known:
            return json_response(404, {"error": "not_found"})
        if tenant is None:
            return identity.tenant_not_found(parts[0])
        tenant.ensure_loaded()
        if rest.endswith("openid-configuration"):
            return identity.openid_configuration(self.base, tenant)
        if rest.endswith("keys"):
            return identity.jwks(self.pki)
        if method != "POST":
            return identity.aadsts(405, "invalid_request", 900561, "The endpoint only accepts POST requests.")
        return identity.token_endpoint(self.base, tenant, self.pki, body, headers)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-IIS/10.0"
    sys_version = ""
    emulator: Emulator

    def log_message(self, fmt, *args):  # access log without query strings or headers (no secrets in logs)
        if self.emulator.log:
            sys.stderr.write(f"{self.command} {self.path.split('?')[0]} {args[1] if len(args) > 1 else ''}\n")

    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _dispatch(self):
        body = self._body()
        result = self.emulator.handle(self.command, self.path, self.headers, body)
        if result == "reset":  # injected connection reset: close without any response
            self.close_connection = True
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            except OSError:
                pass
            return
        truncate = None
        if isinstance(result, tuple):  # ("truncate", Response)
            truncate, result = result[0], result[1]
        self._send(result, truncate)

    def _send(self, resp: Response, truncate: str | None) -> None:
        self.send_response(resp.status)
        if resp.content_type:
            self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(resp.body)))
        for k, v in resp.headers.items():
            self.send_header(k, v)
        self.end_headers()
        if truncate:  # injected truncation: promise more bytes than we send, then close
            self.wfile.write(resp.body[: len(resp.body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if self.command != "HEAD":
            self.wfile.write(resp.body)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _dispatch


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, emulator: Emulator, port: int):
        handler = type("BoundHandler", (Handler,), {"emulator": emulator})
        super().__init__(("127.0.0.1", port), handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(emulator.pki.cert_path, emulator.pki.key_path)
        self._ssl = ctx
        emulator.base = f"https://127.0.0.1:{self.server_address[1]}"

    def get_request(self):
        sock, addr = self.socket.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self._ssl.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def finish_request(self, request, client_address):
        try:
            request.do_handshake()
        except (ssl.SSLError, OSError):
            return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):  # client hang-ups are normal (fault tests, keep-alive)
        exc = sys.exc_info()[1]
        if not isinstance(exc, (ConnectionError, ssl.SSLError, TimeoutError)):
            super().handle_error(request, client_address)
