"""The rehearsal's package cache: the environment wins, else scripts/apt-proxy says."""

from __future__ import annotations

from pathlib import Path

from bureau.core import apt_cache


def _script(project: Path, body: str) -> None:
    script = project / "scripts" / "apt-proxy"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)


def test_the_environment_wins_even_empty(tmp_path: Path) -> None:
    _script(tmp_path, "echo http://found.example:3142")
    env = {"BUREAU_APT_PROXY": "http://set.example:3142"}
    assert apt_cache.proxy_url(tmp_path, env) == "http://set.example:3142"
    assert apt_cache.proxy_url(tmp_path, {"BUREAU_APT_PROXY": ""}) == ""


def test_the_cache_scripts_apt_proxy_finds(tmp_path: Path) -> None:
    _script(tmp_path, "echo http://found.example:3142")
    assert apt_cache.proxy_url(tmp_path, {}) == "http://found.example:3142"


def test_no_cache_when_it_does_not_answer_or_no_script(tmp_path: Path) -> None:
    assert apt_cache.proxy_url(tmp_path, {}) == ""
    _script(tmp_path, "exit 1")
    assert apt_cache.proxy_url(tmp_path, {}) == ""
