"""The README's curl examples work as written against a real server (they send the
Content-Type a JSON body needs: a body declared as anything else is 415)."""

from __future__ import annotations

import shlex
import shutil
import subprocess

import pytest

from tests.realtime.api.support import ROOT, Server

README_URL = "http://127.0.0.1:8000"


def readme_curl_commands() -> list[list[str]]:
    """Every `curl` command in the README, continuation lines joined."""
    text = (ROOT / "README.md").read_text().replace("\\\n", " ")
    return [shlex.split(line) for line in text.splitlines() if line.startswith("curl ")]


@pytest.mark.skipif(shutil.which("curl") is None, reason="no curl on this machine")
def test_readme_curl_examples_when_run_as_written_then_2xx(server: Server) -> None:
    commands = readme_curl_commands()
    assert commands, "the README shows no curl example"
    for command in commands:
        if "-d" in command:
            assert "Content-Type: application/json" in command, command
        argv = [arg.replace(README_URL, server.base_url) for arg in command]
        result = subprocess.run(
            [*argv, "-o", "/dev/null", "-w", "%{http_code}"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("2"), (command, result.stdout)
