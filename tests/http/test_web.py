"""The console's files (``http/web.py``) and how a browser signs in (``http/session.py``), in
process on the in-memory journal; ``tests/test_serve.py`` has the real process."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from bidserver.app import build_app
from bidserver.auth import TokenVerifier
from bidserver.config import Settings
from bidserver.engine.values import Role, TeamRole
from bidserver.http import session, web
from bidserver.store.journal import MemoryJournal

from .conftest import KEY
from .test_api import CONFIG

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "web" / "static" / "vendor"
# Spelled out, not read from the constant: a change to the policy is a change to this test too.
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
INDEX = b'<!doctype html><html><head><link rel="stylesheet" href="/static/css/app.css">' \
        b'<script type="module" src="/static/js/app.js"></script></head><body></body></html>\n'


@pytest.fixture
def web_dir(tmp_path) -> Path:
    """A console like the real one: the page, a script, a style, a locale, a vendored library;
    beside it files that must never be served."""
    root = tmp_path / "site" / "web"
    for name, text in {
        "index.html": INDEX,
        "static/js/app.js": b"export const greet = (who) => `hello ${who}`;\n" * 40,
        "static/js/views/room.js": b"export const room = 1;\n",
        "static/css/app.css": b"body { margin: 0; }\n" * 40,
        "static/locales/en.json": b'{"title": "Auctions", "bid": "Place bid"}',
        "package.json": b'{"private": true}',
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(text)
    shutil.copytree(VENDOR, root / "static" / "vendor")
    (tmp_path / "site" / "pyproject.toml").write_text("secret = true\n")
    (root / "static" / "js" / "outside.js").symlink_to(tmp_path / "site" / "pyproject.toml")
    return root


def _client(tmp_path: Path, **overrides) -> TestClient:
    settings = Settings(
        data_dir=tmp_path / "data", allowed_hosts=("testserver",), redis_url="memory://",
        **overrides,
    )
    return TestClient(build_app(settings, journal=MemoryJournal()))


@pytest.fixture
def client(tmp_path, web_dir):
    with _client(tmp_path, jwt_key=KEY, web_dir=web_dir) as client:
        yield client


def _headers_of_a_page(response) -> None:
    assert response.headers["content-security-policy"] == POLICY == web.CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["etag"].startswith('W/"')


def test_the_index_is_the_page_with_its_headers(client):
    for method in ("GET", "HEAD"):
        r = client.request(method, "/")
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "text/html; charset=utf-8"
        _headers_of_a_page(r)
        assert "last-modified" in r.headers
    assert client.get("/").content == INDEX


def test_static_files_have_their_types_and_the_same_headers(client, web_dir):
    types = {
        "/static/js/app.js": "text/javascript",
        "/static/js/views/room.js": "text/javascript",
        "/static/css/app.css": "text/css",
        "/static/locales/en.json": "application/json",
        "/static/vendor/uplot.js": "text/javascript",
    }
    for path, kind in types.items():
        r = client.get(path, headers={"accept-encoding": "identity"})
        assert r.status_code == 200, (path, r.text)
        assert r.headers["content-type"].split(";")[0] == kind, path
        _headers_of_a_page(r)
        assert r.content == (web_dir / path.removeprefix("/")).read_bytes()


def test_text_is_gzipped_when_accepted_and_only_on_the_console(client, web_dir):
    for path in ("/", "/static/js/app.js", "/static/css/app.css", "/static/vendor/uplot.js"):
        zipped = client.get(path, headers={"accept-encoding": "gzip"})
        plain = client.get(path, headers={"accept-encoding": "identity"})
        assert zipped.headers.get("content-encoding") == "gzip" or len(plain.content) < 500, path
        assert "content-encoding" not in plain.headers
        assert zipped.content == plain.content  # httpx decodes: the same bytes either way
        if zipped.headers.get("content-encoding"):
            assert "accept-encoding" in zipped.headers["vary"].lower()
            assert zipped.headers["etag"] == plain.headers["etag"]  # weak: one for both
    big = client.get("/static/vendor/uplot.js", headers={"accept-encoding": "gzip"})
    assert big.headers["content-encoding"] == "gzip"
    assert int(big.headers["content-length"]) < (web_dir / "static/vendor/uplot.js").stat().st_size / 1.5
    # The API, the document and the probes: never compressed, however large, and no page headers.
    for path in ("/openapi.json", "/api/time", "/api/session", "/livez"):
        r = client.get(path, headers={"accept-encoding": "gzip"})
        assert r.status_code == 200
        assert "content-encoding" not in r.headers and "content-security-policy" not in r.headers
    assert len(client.get("/openapi.json").content) > 10_000


def test_a_browser_revalidates_and_gets_304_until_the_file_changes(client, web_dir):
    first = client.get("/static/js/app.js")
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    for validator in ({"if-none-match": etag}, {"if-none-match": etag.removeprefix("W/")},
                      {"if-modified-since": modified}):
        again = client.get("/static/js/app.js", headers=validator)
        assert again.status_code == 304, validator
        assert again.content == b"" and again.headers["etag"] == etag
        assert again.headers["cache-control"] == "no-cache"
    assert client.get("/", headers={"if-none-match": client.get("/").headers["etag"]}).status_code == 304
    (web_dir / "static/js/app.js").write_bytes(b"export const greet = 2;\n")  # a new release
    changed = client.get("/static/js/app.js", headers={"if-none-match": etag})
    assert changed.status_code == 200 and changed.content == b"export const greet = 2;\n"
    assert changed.headers["etag"] != etag


def _problem(r, status: int, reason: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["reason"] == reason


def test_what_is_not_a_file_of_the_console_is_a_problem(client):
    for path in ("/static/nope.js", "/static/js", "/static/js/", "/static/", "/index.html",
                 "/package.json", "/static/js/app.js/x", "/static/js/app.js%00.png"):
        _problem(client.get(path), 404, "not_found")
    _problem(client.post("/static/js/app.js"), 405, "method_not_allowed")
    _problem(client.post("/"), 405, "method_not_allowed")


def test_no_path_leaves_the_static_directory(client):
    """httpx resolves a literal ``..`` itself (the real server gets them raw in test_serve.py);
    encoded, they reach the app as ``/static/../...`` all the same."""
    for path in (
        "/static/%2e%2e/index.html",  # index.html is web/'s, not static/'s
        "/static/%2e%2e/package.json",
        "/static/%2e%2e/%2e%2e/pyproject.toml",
        "/static/..%2f..%2fpyproject.toml",
        "/static/js/%2e%2e%2f%2e%2e%2f%2e%2e%2fpyproject.toml",
        "/static/%2e%2e%5c%2e%2e%5cpyproject.toml",
        "/static/%2fetc%2fpasswd",
        "/static//etc/passwd",
        "/static/js/outside.js",  # a symlink out of static/
    ):
        r = client.get(path)
        _problem(r, 404, "not_found")
        assert b"secret" not in r.content and b"root:" not in r.content


def test_the_host_check_covers_the_console(client):
    for path in ("/", "/static/js/app.js"):
        r = client.get(path, headers={"host": "evil.example"})
        _problem(r, 421, "host_not_allowed")
        assert "content-security-policy" not in r.headers


def test_find_web_dir(tmp_path, monkeypatch, web_dir):
    assert web.find_web_dir(Settings(web_dir=web_dir)) == web_dir
    with pytest.raises(web.WebDirMissing, match="BIDSERVER_WEB_DIR"):
        web.find_web_dir(Settings(web_dir=tmp_path / "nowhere"))
    with pytest.raises(ValueError, match="index.html"):
        build_app(Settings(web_dir=tmp_path, jwt_key=KEY), journal=MemoryJournal())

    def layout(name: str, *files: str) -> Path:
        for file in files:
            (tmp_path / name / file).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name / file).write_text("x")
        return tmp_path / name

    # Installed: the wheel's bidserver/web; a web/ beside site-packages is someone else's.
    site = layout("lib", "bidserver/__init__.py", "web/index.html")
    monkeypatch.setattr(web, "_PACKAGE", site / "bidserver")
    assert web.find_web_dir(Settings()) is None
    layout("lib", "bidserver/web/index.html")
    assert web.find_web_dir(Settings()) == site / "bidserver" / "web"
    # A source checkout: web/ beside pyproject.toml.
    repo = layout("repo", "pyproject.toml", "bidserver/__init__.py", "web/index.html")
    monkeypatch.setattr(web, "_PACKAGE", repo / "bidserver")
    assert web.find_web_dir(Settings()) == repo / "web"


def test_without_a_console_the_api_is_served_alone(tmp_path, monkeypatch):
    monkeypatch.setattr(web, "_PACKAGE", tmp_path / "bidserver")
    with _client(tmp_path, jwt_key=KEY) as client:
        _problem(client.get("/"), 404, "not_found")
        _problem(client.get("/static/vendor/ui.js"), 404, "not_found")
        assert client.get("/api/session").json() == {"dev_sign_in": False}


def test_the_wheel_names_every_package_and_takes_the_console():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "bidserver").rglob("__init__.py")
    }
    assert set(setuptools["packages"]) == packages | {"bidserver.web"}
    assert setuptools["package-dir"] == {"bidserver.web": "web"}
    assert setuptools["package-data"]["bidserver.web"] == ["index.html", "static/**/*"]


@pytest.mark.slow
def test_an_installed_wheel_serves_the_console(tmp_path, web_dir):
    """``pip install .`` (not editable): the wheel holds web/index.html and every file under
    web/static, subdirectories included, and the installed server finds them."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "bidserver", source / "bidserver",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(web_dir, source / "web", symlinks=True)
    (source / "web" / "static" / "js" / "outside.js").unlink()
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"),
         str(source)], capture_output=True, text=True, timeout=300,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    [wheel] = (tmp_path / "dist").glob("bidserver-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {"bidserver/web/index.html"} | {
        "bidserver/web/" + path.relative_to(source / "web").as_posix()
        for path in (source / "web" / "static").rglob("*") if path.is_file()
    }
    assert expected <= names
    assert not any("package.json" in name or name.startswith("web/") for name in names)
    site = tmp_path / "site-packages"
    zipfile.ZipFile(wheel).extractall(site)  # what pip install puts in site-packages
    probe = (
        "import bidserver, sys\n"
        "from pathlib import Path\n"
        "from starlette.testclient import TestClient\n"
        "from bidserver.app import build_app\n"
        "from bidserver.config import Settings\n"
        "from bidserver.store.journal import MemoryJournal\n"
        f"assert Path(bidserver.__file__).parent == Path({str(site / 'bidserver')!r})\n"
        "settings = Settings(jwt_key='k' * 32, data_dir=Path(sys.argv[1]),"
        " allowed_hosts=('testserver',), redis_url='memory://')\n"
        "with TestClient(build_app(settings, journal=MemoryJournal())) as c:\n"
        "    for path in ('/', '/static/js/views/room.js', '/static/vendor/ui.js'):\n"
        "        assert c.get(path).status_code == 200, path\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path / "data")], cwd=tmp_path,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-3000:]


# ------------------------------------------------------------------------------ signing in


def _verify(settings: Settings, token: str):
    return TokenVerifier.from_settings(settings).verify(token)


def test_with_a_configured_key_there_is_no_development_sign_in(tmp_path):
    with _client(tmp_path, jwt_key=KEY) as client:
        assert client.get("/api/session").json() == {"dev_sign_in": False}
        r = client.post("/api/dev/tokens", json={"role": "buyer", "org": "org-1"})
        _problem(r, 404, "not_found")  # as if there were no such route
        assert "/api/dev/tokens" not in client.get("/openapi.json").json()["paths"]
    with _client(tmp_path, dev_sign_in="off") as client:  # the generated key, but turned off
        assert client.get("/api/session").json() == {"dev_sign_in": False}
        _problem(client.post("/api/dev/tokens", json={"role": "buyer", "org": "o"}), 404, "not_found")


def test_on_with_a_configured_key_is_refused(tmp_path):
    pem = tmp_path / "platform.pem"
    for external in ({"jwt_key": KEY}, {"jwt_public_key_file": pem}):
        settings = Settings(data_dir=tmp_path, dev_sign_in="on", **external)
        with pytest.raises(ValueError, match="BIDSERVER_DEV_SIGN_IN=on"):
            build_app(settings, journal=MemoryJournal())


def test_development_tokens_sign_in_to_the_api(tmp_path):
    settings = Settings(data_dir=tmp_path / "data")  # the key generated, sign-in on ("auto")
    with _client(tmp_path) as client:
        assert client.get("/api/session").json() == {"dev_sign_in": True}
        tokens = {}
        for role in ("buyer", "supplier", "observer"):
            r = client.post("/api/dev/tokens", json={"role": role, "org": "org-1"})
            assert r.status_code == 200, r.text
            answer = r.json()
            assert answer.keys() == {"token", "expires_at"}
            principal = _verify(settings, answer["token"])
            assert (principal.role, principal.party, principal.user) == (Role(role), "org-1", "org-1")
            assert principal.expires_at == answer["expires_at"]
            tokens[role] = answer["token"]
        lasts = answer["expires_at"] - client.get("/api/time").json()["server_time"]
        assert abs(lasts - session.DEV_TOKEN_TTL_S * 1000) < 60_000
        buyer = {"authorization": f"Bearer {tokens['buyer']}"}
        created = client.post("/api/auctions", json={"config": CONFIG}, headers=buyer)
        assert created.status_code == 201, created.text
        listed = client.get("/api/auctions", headers={"authorization": f"Bearer {tokens['observer']}"})
        assert listed.status_code == 200 and len(listed.json()["auctions"]) == 1
        r = client.post("/api/dev/tokens", json={
            "role": "supplier", "org": "acme", "name": "ACME Ltd", "user": "alice"})
        principal = _verify(settings, r.json()["token"])
        assert (principal.party, principal.user, principal.name) == ("acme", "alice", "ACME Ltd")


def test_development_tokens_name_team_roles_of_their_side(tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    with _client(tmp_path) as client:
        r = client.post("/api/dev/tokens", json={"role": "buyer", "org": "org-1", "user": "ann",
                                                 "roles": ["auditor"]})
        assert r.status_code == 200, r.text
        assert _verify(settings, r.json()["token"]).roles == {TeamRole.AUDITOR}
        r = client.post("/api/dev/tokens", json={"role": "platform", "org": "operator"})
        assert r.status_code == 200, r.text
        assert _verify(settings, r.json()["token"]).role is Role.PLATFORM
        for roles in (["supplier_reviewer"], []):  # the platform's, in a buyer's token; nobody
            r = client.post("/api/dev/tokens", json={"role": "buyer", "org": "o", "roles": roles})
            _problem(r, 403, "bad_role")
        r = client.post("/api/dev/tokens", json={"role": "buyer", "org": "o", "roles": ["boss"]})
        _problem(r, 400, "bad_request")  # not a team role at all: outside the body's schema


@pytest.mark.parametrize("body", [
    b'{"role": "system", "org": "org-1"}',
    b'{"role": "admin", "org": "org-1"}',
    b'{"role": "buyer"}',
    b'{"org": "org-1"}',
    b'{"role": "buyer", "org": ""}',
    b'{"role": "buyer", "org": "no spaces"}',
    b'{"role": "buyer", "org": "o", "user": ""}',
    b'{"role": "buyer", "org": "o", "name": 7}',
    b'{"role": "buyer", "org": "o", "exp": 99999999999}',
    b'{"role": "buyer", "org": "' + b"x" * 65 + b'"}',
    b'["buyer", "org-1"]',
    b"{nope",
    b"\xff\xfe",
    b"",
])
def test_bad_input_is_a_400_problem(tmp_path, body):
    with _client(tmp_path) as client:
        r = client.post("/api/dev/tokens", content=body)
        _problem(r, 400, "bad_request")


def test_an_oversized_body_is_refused(tmp_path):
    with _client(tmp_path) as client:
        r = client.post("/api/dev/tokens", content=b'{"role": "buyer", "org": "' + b"x" * 300_000 + b'"}')
        _problem(r, 413, "message_too_big")


def test_development_tokens_are_rate_limited_per_client(tmp_path):
    with _client(tmp_path, rate_limit_per_s=0.001, rate_limit_burst=3) as client:
        body = {"role": "buyer", "org": "org-1"}
        answers = [client.post("/api/dev/tokens", json=body) for _ in range(4)]
        assert [r.status_code for r in answers[:-1]] == [200] * 3
        _problem(answers[-1], 429, "rate_limited")
        assert int(answers[-1].headers["retry-after"]) >= 1
