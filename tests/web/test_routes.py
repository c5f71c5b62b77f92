"""GET / and its assets, and GET /admin/limits, over HTTP (no browser needed)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.web.live import live_service, settings_for

pytestmark = pytest.mark.slow

ALICE = {"X-API-Key": "alice-demo-key"}
ADMIN = {"X-API-Key": "ops-demo-key"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    with (
        live_service(settings_for(tmp_path_factory.mktemp("routes"))) as live,
        httpx.Client(base_url=live.url, timeout=10) as http,
    ):
        yield http


def test_root_when_fetched_then_the_page_with_a_same_origin_only_policy(
    client: httpx.Client,
) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "connect-src 'self'" in policy
    assert 'src="/ui/js/main.js"' in response.text
    assert "http://" not in response.text and "https://" not in response.text


def test_page_assets_when_fetched_then_served_with_their_types(client: httpx.Client) -> None:
    for path, media in (
        ("/ui/js/api.js", "text/javascript"),
        ("/ui/app.css", "text/css"),
        ("/docs/assets/swagger-ui-bundle.js", "text/javascript"),
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith(media), path
    assert client.get("/ui/nope.js").status_code == 404


def test_admin_limits_when_admin_then_each_accounts_effective_limits(
    client: httpx.Client,
) -> None:
    response = client.get("/admin/limits", headers=ADMIN)
    assert response.status_code == 200
    body = response.json()
    # every account of config/accounts.toml, the validation probes' included
    assert set(body["accounts"]) == {"alice", "bob", "validation", "validation_peer"}
    assert body["accounts"]["alice"]["max_position"] == 20_000  # its own override
    assert body["accounts"]["bob"]["max_position"] == body["default"]["max_position"]
    assert body["accounts"]["bob"]["restricted_symbols"] == ["TSLA"]
    reload = client.post("/admin/limits/reload", headers=ADMIN).json()
    assert body["digest"] == reload["digest"]


def test_admin_limits_when_account_key_then_403_admin_required(client: httpx.Client) -> None:
    response = client.get("/admin/limits", headers=ALICE)
    assert response.status_code == 403
    assert response.json()["code"] == "ADMIN_REQUIRED"
    assert client.get("/admin/limits").json()["code"] == "UNAUTHENTICATED"
