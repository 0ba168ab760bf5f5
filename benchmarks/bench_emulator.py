"""Benchmark: full $select'ed listing of every user of a 100k-user emulated tenant.

    .venv/bin/python benchmarks/bench_emulator.py [--users 100000] [--state-dir DIR]

Starts the emulator as a subprocess (graph_emulator.testing.running_emulator), generates the tenant,
registers an app, gets a token with msal, then pages /v1.0/users?$select=<all collection props>&$top=999
with one keep-alive httpx client. Reports users/s and MB/s served and, separately, client-side JSON
parsing time of the same pages (json and orjson) for comparison.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import httpx
import msal
import orjson
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from graph_emulator import views  # noqa: E402
from graph_emulator.control import ssl_context  # noqa: E402
from graph_emulator.testing import running_emulator  # noqa: E402


def next_link(body: bytes) -> str | None:
    """@odata.nextLink precedes "value" in the envelope: read it without parsing the whole page, so the
    listing time measures the server, not client-side JSON parsing (timed separately below)."""
    head = body[:4096]
    start = head.find(b'"@odata.nextLink":"')
    if start < 0:
        return None
    start += len(b'"@odata.nextLink":"')
    return head[start: head.index(b'"', start)].decode()


def token(url: str, ca: str, tid: str, app: dict) -> str:
    session = requests.Session()
    session.trust_env, session.verify = False, ca
    cca = msal.ConfidentialClientApplication(app["client_id"], client_credential=app["client_secret"],
                                             authority=f"{url}/{tid}", instance_discovery=False, http_client=session)
    return cca.acquire_token_for_client(["https://graph.microsoft.com/.default"])["access_token"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--state-dir")
    args = ap.parse_args()
    state = Path(args.state_dir or tempfile.mkdtemp(prefix="bench-emulator-"))
    with running_emulator(state, timeout=60) as emu:
        t0 = time.perf_counter()
        tenant = emu.control.create_tenant(seed=1, users=args.users)
        gen_s = time.perf_counter() - t0
        app = emu.control.register_app(tenant["tenant_id"], ["User.Read.All"])
        bearer = token(emu.url, emu.ca_path, tenant["tenant_id"], app)
        select = ",".join(views.selectable("users"))
        url = f"{emu.url}/v1.0/users?$select={select}&$top=999"
        pages: list[bytes] = []
        with httpx.Client(verify=ssl_context(emu.ca_path), trust_env=False, timeout=120,
                          headers={"Authorization": f"Bearer {bearer}"}) as client:
            t0 = time.perf_counter()
            while url:
                resp = client.get(url)
                resp.raise_for_status()
                pages.append(resp.content)
                url = next_link(resp.content)
            serve_s = time.perf_counter() - t0
        total = sum(len(p) for p in pages)
        t0 = time.perf_counter()
        n_users = sum(len(json.loads(p)["value"]) for p in pages)
        json_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        for p in pages:
            orjson.loads(p)
        orjson_s = time.perf_counter() - t0
    result = {"users": n_users, "pages": len(pages), "properties_selected": len(select.split(",")),
              "tenant_generation_s": round(gen_s, 1), "listing_s": round(serve_s, 2),
              "users_per_s": round(n_users / serve_s), "mb": round(total / 1e6, 1),
              "mb_per_s": round(total / 1e6 / serve_s, 1), "client_json_parse_s": round(json_s, 2),
              "client_orjson_parse_s": round(orjson_s, 2)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
