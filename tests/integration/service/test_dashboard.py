"""The dashboard's serving side: ``/v1/me``, the page, and its files (the browser suite drives the page)."""

from __future__ import annotations

import re

import httpx

from boltztrader.api.dashboard import STATIC_DIR

from .conftest import Service

_IMPORT = re.compile(r"""^\s*import\s.*?from\s+['"]([^'"]+)['"]""", re.MULTILINE)
_LINKED = re.compile(r"""(?:src|href)="([^"]+)\"""")


async def test_me_names_the_tokens_user_and_role(service: Service) -> None:
    """A trader's token answers the trader's id, email and role; an admin's says admin; none is 401."""
    async with httpx.AsyncClient(base_url=service.url) as client:
        trader = await client.get("/v1/me", headers=service.headers())
        admin = await client.get("/v1/me", headers=service.headers(service.admin_token))
        anonymous = await client.get("/v1/me")
    assert trader.json() == {"user_id": service.user_id, "email": "trader@example.com", "role": "user"}
    assert admin.json()["role"] == "admin"
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/problem+json")


async def test_the_page_and_its_files_are_served_under_a_strict_policy(service: Service) -> None:
    """/ and /static/<name> answer with their types and a CSP that allows no inline or foreign code."""
    async with httpx.AsyncClient(base_url=service.url) as client:
        page = await client.get("/")
        script = await client.get("/static/app.js")
        style = await client.get("/static/style.css")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert script.headers["content-type"].startswith("text/javascript")
    assert style.headers["content-type"].startswith("text/css")
    assert 'type="module" src="/static/app.js"' in page.text


async def test_no_name_outside_the_static_directory_is_served(service: Service) -> None:
    """Traversal, nested paths, unknown names and unlisted types answer 404, as problems."""
    async with httpx.AsyncClient(base_url=service.url) as client:
        for path in ("/static/..%2fapp.py", "/static/%2e%2e%2f%2e%2e%2fsettings.py", "/static/nope.js",
                     "/static/dashboard.py", "/static/sub/app.js", "/static/.hidden.js", "/static/APP.JS"):
            answer = await client.get(path)
            assert answer.status_code == 404, path
            assert answer.headers["content-type"].startswith("application/problem+json"), path


def test_every_file_the_page_loads_is_shipped_and_local() -> None:
    """Each src/href of the page and each module import names a file in static/: nothing from the internet."""
    shipped = {p.name for p in STATIC_DIR.iterdir()}
    page = (STATIC_DIR / "index.html").read_text()
    linked = _LINKED.findall(page)
    assert linked, "the page links its files"
    for target in linked:
        assert target.startswith("/static/"), target
        assert target.removeprefix("/static/") in shipped, target
    for script in STATIC_DIR.glob("*.js"):
        for module in _IMPORT.findall(script.read_text()):
            assert module.startswith("./"), f"{script.name} imports {module}"
            assert module[2:] in shipped, f"{script.name} imports {module}"


def test_the_page_never_parses_data_as_markup() -> None:
    """No script assigns innerHTML/outerHTML, calls insertAdjacentHTML or document.write, or uses eval."""
    banned = re.compile(r"\.(?:innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write|\beval\("
                        r"|new Function\(")
    for script in STATIC_DIR.glob("*.js"):
        assert not banned.search(script.read_text()), script.name
    assert "<script>" not in (STATIC_DIR / "index.html").read_text()
