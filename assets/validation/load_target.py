"""Where the performance suite's load may go: loopback, and the hosts an operator lists.

The load is a probe of a live service, so by default it goes to loopback only: a
mistyped TRADEPIPE_VALIDATION_API_URL must not load some other machine. Where the
service is another host by design (docker compose: the service `realtime` on the
compose network), that host is named in TRADEPIPE_VALIDATION_LOAD_HOSTS (comma-
separated host names or IP addresses, matched exactly, case-insensitively; no ports,
no wildcards). `orchestration.validation_settings` reads the setting with
`parse_load_hosts`; the suite checks its URL with `load_target`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection
from typing import Final
from urllib.parse import urlsplit

LOAD_HOSTS_SETTING: Final = "TRADEPIPE_VALIDATION_LOAD_HOSTS"
_LABEL: Final = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class LoadRefused(ValueError):
    """The URL's host is neither loopback nor listed; the message is the check's reason."""


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    return len(host) <= 253 and all(_LABEL.match(label) for label in host.split("."))


def parse_load_hosts(text: str) -> frozenset[str]:
    """The setting's value: host names or IP addresses, comma-separated."""
    hosts = [h.strip().lower() for h in text.split(",") if h.strip()]
    bad = [h for h in hosts if not _valid_host(h)]
    if bad:
        raise ValueError(
            f"expected comma-separated host names or IP addresses (no scheme, port or "
            f"wildcard), got {bad}"
        )
    return frozenset(hosts)


def load_target(url: str, allowed: Collection[str]) -> tuple[str, int]:
    """(host, port) the load may go to, or LoadRefused naming the setting."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if _is_loopback(host) or host in allowed:
        return host, port
    listed = ", ".join(sorted(allowed)) or "none"
    raise LoadRefused(
        f"refused: the load goes to loopback only, or to a host listed in "
        f"{LOAD_HOSTS_SETTING} (listed: {listed}), not {host or url!r}"
    )
