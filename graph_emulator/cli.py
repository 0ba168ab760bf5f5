"""Command line: serve, tenant-create, app-register, mutate, export, config.

Offline commands talk to a running server when STATE/ready.json points at a live one; otherwise they
start the emulator in-process on the same state dir for the duration of the command (state persists).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
from pathlib import Path

from graph_emulator.control import EmulatorControl
from graph_emulator.server import Emulator, Server
from graph_emulator.store import atomic_write
from graph_emulator.testing import InProcessEmulator


def _serve(args) -> int:
    emu = Emulator(Path(args.state_dir), log=args.log)
    server = Server(emu, args.port)
    emu.warm()
    info = {"url": emu.base, "ca_path": str(emu.pki.ca_path), "admin_key_path": str(emu.admin_key_path.resolve())}
    line = json.dumps(info)
    for target in filter(None, [args.ready_file, str(emu.state_dir / "ready.json")]):
        atomic_write(Path(target), line.encode())
    print(line, flush=True)
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    stop.wait()
    server.shutdown()
    server.server_close()
    emu.store.close()
    with contextlib.suppress(OSError):
        (emu.state_dir / "ready.json").unlink()
    return 0


@contextlib.contextmanager
def _control(state_dir: str):
    """EmulatorControl on the live server for this state dir, or on a temporary in-process one."""
    ready = Path(state_dir) / "ready.json"
    if ready.exists():
        info = json.loads(ready.read_text())
        ctl = EmulatorControl(info["url"], info["ca_path"], Path(info["admin_key_path"]).read_text())
        try:
            ctl.list_tenants()
            yield ctl
            ctl.close()
            return
        except Exception:  # noqa: BLE001 - stale ready file: fall back to in-process
            ctl.close()
    with InProcessEmulator(state_dir) as emu:
        yield emu.control


def _tenant_create(args) -> int:
    with _control(args.state_dir) as ctl:
        out = ctl.create_tenant(seed=args.seed, users=args.users, tenant_id=args.tenant_id, domain=args.domain,
                                licence=args.licence, name=args.name)
    print(json.dumps(out))
    return 0


def _app_register(args) -> int:
    cert = Path(args.certificate).read_text() if args.certificate else None
    with _control(args.state_dir) as ctl:
        out = ctl.register_app(args.tenant, [r for r in args.roles.split(",") if r], args.display_name,
                               secret=bool(args.secret_file), certificate_pem=cert)
    secret = out.pop("client_secret", None)
    if args.secret_file and secret:
        fd = os.open(args.secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secret)
    print(json.dumps(out))  # never prints the secret
    return 0


def _mutate(args) -> int:
    params = json.loads(args.params) if args.params else {}
    with _control(args.state_dir) as ctl:
        print(json.dumps(ctl.mutate(args.tenant, args.kind, **params)))
    return 0


def _export(args) -> int:
    with _control(args.state_dir) as ctl:
        data = ctl.export(args.tenant)
    Path(args.output).write_text(json.dumps(data))
    return 0


def _config(args) -> int:
    with _control(args.state_dir) as ctl:
        print(json.dumps(ctl.configure(args.tenant, **json.loads(args.json))))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m graph_emulator", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve", help="run the HTTPS emulator")
    s.add_argument("--state-dir", required=True)
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--ready-file")
    s.add_argument("--log", action="store_true", help="access log on stderr (no query strings)")
    s.set_defaults(fn=_serve)
    t = sub.add_parser("tenant-create")
    t.add_argument("--state-dir", required=True)
    t.add_argument("--seed", type=int, default=1)
    t.add_argument("--users", type=int, default=100)
    t.add_argument("--tenant-id")
    t.add_argument("--domain")
    t.add_argument("--licence", default="P2", choices=["P1", "P2", "free"])
    t.add_argument("--name")
    t.set_defaults(fn=_tenant_create)
    a = sub.add_parser("app-register")
    a.add_argument("--state-dir", required=True)
    a.add_argument("--tenant", required=True)
    a.add_argument("--roles", default="")
    a.add_argument("--display-name", default="entrabackup")
    a.add_argument("--secret-file", help="write the client secret here (mode 0600)")
    a.add_argument("--certificate", help="PEM certificate file to register")
    a.set_defaults(fn=_app_register)
    m = sub.add_parser("mutate")
    m.add_argument("--state-dir", required=True)
    m.add_argument("--tenant", required=True)
    m.add_argument("--kind", required=True)
    m.add_argument("--params", help="JSON object of mutation parameters")
    m.set_defaults(fn=_mutate)
    e = sub.add_parser("export")
    e.add_argument("--state-dir", required=True)
    e.add_argument("--tenant", required=True)
    e.add_argument("--output", required=True)
    e.set_defaults(fn=_export)
    c = sub.add_parser("config")
    c.add_argument("--state-dir", required=True)
    c.add_argument("--tenant", required=True)
    c.add_argument("--json", required=True)
    c.set_defaults(fn=_config)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
