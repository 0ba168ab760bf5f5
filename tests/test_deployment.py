"""The product started as docs/deployment.md installs it, and an operator signing in over real HTTP.

The environment file, the setup commands and the `ExecStart=` lines of the web server's and the proxy's
systemd units are read from the guide itself, so the guide cannot drift from what works. Only what names
this machine is replaced: the database (the test database), the folders, the secrets, the port. The test
plays the TLS-terminating nginx of the guide: it talks plain HTTP to gunicorn on loopback and sets the
headers nginx sets (Host, X-Forwarded-Proto, X-Forwarded-For).
"""

import re
import secrets
import shlex
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from audittrail.models import Entry
from entrabackup import vault
from jobs.models import Proxy
from tests.support import processes
from tests.support.processes import ROOT, stop_groups, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

GUIDE = (ROOT / "docs" / "deployment.md").read_text()
VENV_BIN = "/opt/entrabackup/venv/bin/"
HOST = "backup.example.org"
CLIENT = "203.0.113.7"
PROXY_NAME = "deployment-test-proxy"


def _section(title: str) -> str:
    return re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", GUIDE, flags=re.M | re.S).group(1)


def _blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def guide_environment() -> dict[str, str]:
    """The guide's environment file, as systemd's EnvironmentFile= reads it (KEY=VALUE, # comments)."""
    block = _blocks(_section("2. The environment file"), "sh")[0]
    pairs = (line.split("=", 1) for line in block.splitlines() if line.strip() and not line.startswith("#"))
    return {key.strip(): value for key, value in pairs}


def guide_setup_commands() -> list[list[str]]:
    """`entrabackup-manage ...` lines of the guide's section 5, as manage.py arguments."""
    block = _blocks(_section("5. Migrate, cache table, static files, first administrator"), "sh")[0]
    return [shlex.split(line.split("#")[0])[1:] for line in block.splitlines() if line.startswith("entrabackup-manage")]


def guide_unit(name: str) -> tuple[list[str], dict[str, str]]:
    """The ExecStart= command line and the Environment= variables of unit `name` in the guide."""
    unit = re.search(rf"`/etc/systemd/system/{re.escape(name)}`.*?```ini\n(.*?)```", GUIDE, flags=re.S).group(1)
    unit = unit.replace("\\\n", " ")
    exec_start = re.search(r"^ExecStart=(.*)$", unit, flags=re.M).group(1)
    environment = {}
    for line in re.findall(r"^Environment=(.*)$", unit, flags=re.M):
        environment.update(pair.split("=", 1) for pair in shlex.split(line))
    argv = [part.replace(VENV_BIN, str(Path(sys.executable).parent) + "/") for part in shlex.split(exec_start)]
    return argv, environment


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def installation(tmp_path):
    """The guide's environment, with this machine's database, folders and fresh secrets."""
    key_file = tmp_path / "secrets.key"
    key_file.write_text(vault.generate_key() + "\n")
    env = guide_environment()
    assert env["DJANGO_SECRET_KEY"] == "..."  # the guide's placeholder: each installation makes its own
    env.update(DJANGO_SECRET_KEY=secrets.token_urlsafe(50), DATABASE_URL=processes.test_database_url(),
               ENTRABACKUP_VAR_DIR=str(tmp_path / "var"), ENTRABACKUP_SECRETS_KEY_FILE=str(key_file))
    # What systemd gives a service: no variable of this test run (DJANGO_SETTINGS_MODULE above all).
    base = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8", "XDG_RUNTIME_DIR": str(tmp_path)}
    return {**base, **env}


def _manage(env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _finished(process: subprocess.Popen) -> str:
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 0, output
    return output


def _set_up(env: dict) -> list[subprocess.Popen]:
    """Start the guide's setup commands, in parallel where they allow it (collectstatic and createcachetable
    need no migration); the administrator is made once `migrate` is done. Returns them, the last one
    printing the administrator's password."""
    commands = guide_setup_commands()
    assert [args[0] for args in commands] == ["migrate", "createcachetable", "collectstatic", "admin_ensure"]
    migrate, cache, static = (_manage(env, *args) for args in commands[:3])
    _finished(migrate)
    return [cache, static, _manage(env, *commands[3])]


def _start(unit: str, env: dict, port: int, **extra: str) -> subprocess.Popen:
    argv, unit_env = guide_unit(unit)
    argv = [part.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for part in argv]
    return subprocess.Popen(argv, cwd=ROOT, env={**env, **unit_env, "XDG_RUNTIME_DIR": env["XDG_RUNTIME_DIR"],
                                                   **extra},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)


class Nginx:
    """What the guide's nginx does to a request: the public host, HTTPS, the client's address appended."""

    def __init__(self, port: int):
        self.base, self.cookies = f"http://127.0.0.1:{port}", {}
        self.headers = {"Host": HOST, "X-Forwarded-Proto": "https", "X-Forwarded-For": CLIENT}

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        # Cookies are Secure: a client keeps them for https://backup.example.org, which this stands for.
        response = requests.request(method, self.base + path, headers={**self.headers, **kwargs.pop("headers", {})},
                                    cookies=self.cookies, allow_redirects=False, timeout=30, **kwargs)
        self.cookies.update(response.cookies.get_dict())
        return response


def test_the_guide_installs_a_server_an_operator_signs_in_to(installation):
    setup = _set_up(installation)
    port = _free_port()
    web = _start("entrabackup-web.service", installation, port)
    proxy = _start("entrabackup-proxy.service", installation, port, ENTRABACKUP_PROXY_NAME=PROXY_NAME)
    try:
        password = re.search(r"Password: (\S+)", [_finished(process) for process in setup][-1]).group(1)
        wait_for(lambda: _healthy(port, web), timeout=30, message="gunicorn did not answer /healthz")
        _sign_in_and_look_around(Nginx(port), password)
        wait_for(lambda: Proxy.objects.filter(name=PROXY_NAME, heartbeat_at__isnull=False).exists(), timeout=30,
                 message="the proxy did not report itself")
    finally:
        stop_groups(web, proxy)


def _healthy(port: int, web: subprocess.Popen) -> bool:
    assert web.poll() is None, web.stderr.read()
    try:  # the guide's health check: plain HTTP on the host itself, exempt from the HTTPS redirect
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    except (requests.ConnectionError, requests.Timeout):
        return False


def _sign_in_and_look_around(nginx: Nginx, password: str) -> None:
    plain = requests.get(nginx.base + "/accounts/login/", headers={"Host": HOST}, allow_redirects=False, timeout=10)
    assert (plain.status_code, plain.headers["Location"]) == (301, f"https://{HOST}/accounts/login/")
    login = nginx.request("GET", "/accounts/login/")
    assert login.status_code == 200 and "max-age=31536000" in login.headers["Strict-Transport-Security"]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
    signed_in = nginx.request("POST", "/accounts/login/", data={
        "username": "admin", "password": password, "csrfmiddlewaretoken": token},
        headers={"Origin": f"https://{HOST}", "Referer": f"https://{HOST}/accounts/login/"})
    assert (signed_in.status_code, signed_in.headers["Location"]) == (302, "/"), signed_in.text[:500]
    session_cookie = next(c for c in signed_in.raw.headers.getlist("Set-Cookie") if c.startswith("sessionid="))
    assert "HttpOnly" in session_cookie and "Secure" in session_cookie
    dashboard = nginx.request("GET", "/")
    assert dashboard.status_code == 200 and ">admin<" in dashboard.text
    stylesheet = re.search(r'href="(/static/css/app\.[0-9a-f]{12}\.css)"', dashboard.text).group(1)
    static = nginx.request("GET", stylesheet)
    assert static.status_code == 200 and static.headers["Content-Type"].startswith("text/css")
    assert "immutable" in static.headers["Cache-Control"]
    entry = Entry.objects.filter(action="signin.success").latest("id")
    assert (entry.username, entry.ip) == ("admin", CLIENT)  # the address nginx saw, not 127.0.0.1


def test_the_guide_lists_every_variable_of_the_environment_example():
    documented = set(re.findall(r"^([A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), flags=re.M))
    table = _section("2. The environment file").split("| group | variables |")[1]
    listed = set(re.findall(r"`([A-Z0-9_]+)`", table))
    assert documented == listed
