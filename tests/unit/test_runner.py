from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from bureau.core import runner
from bureau.errors import BadInput


def _request(project: Path, **overrides: object) -> runner.DeployRequest:
    base: dict[str, object] = {
        "project": project,
        "inventory": project / "inventories" / "staging",
        "playbook": project / "playbooks" / "site.yml",
    }
    base.update(overrides)
    return runner.DeployRequest(**base)  # type: ignore[arg-type]


def test_plan_without_options(tmp_path: Path) -> None:
    plan = runner.plan(
        _request(tmp_path), bin_dir=Path("/venv/bin"), path_env="/usr/bin", stamp="T1"
    )
    assert plan.cmdline == ()
    assert plan.argv() == [
        "ansible-playbook", "-i", str(tmp_path / "inventories/staging"),
        str(tmp_path / "playbooks/site.yml"),
    ]  # fmt: skip
    assert plan.envvars["ANSIBLE_CONFIG"] == str(tmp_path / "ansible.cfg")
    assert plan.envvars["PATH"] == "/venv/bin:/usr/bin"
    assert "ANSIBLE_VAULT_PASSWORD_FILE" not in plan.envvars
    assert plan.log_path == tmp_path / ".bureau/logs/deploy-staging-site-T1.log"
    assert plan.project_dir == str(tmp_path)


def test_plan_with_limit_tags_check_and_vault(tmp_path: Path) -> None:
    request = _request(
        tmp_path,
        limit="directory",
        tags="base,pki",
        check=True,
        vault_password_file=tmp_path / "pass",
    )
    plan = runner.plan(request, bin_dir=Path("/b"), path_env="", stamp="T2")
    assert plan.cmdline == ("--limit", "directory", "--tags", "base,pki", "--check", "--diff")
    assert plan.argv()[-1] == str(tmp_path / "playbooks/site.yml")
    assert plan.envvars["ANSIBLE_VAULT_PASSWORD_FILE"] == str(tmp_path / "pass")
    assert plan.envvars["PATH"] == "/b"


def test_resolve_playbook_by_name_or_path(project: Path) -> None:
    assert runner.resolve_playbook(project, "site.yml") == project / "playbooks/site.yml"
    own = project / "mine.yml"
    own.write_text("---\n[]\n")
    assert runner.resolve_playbook(project, str(own)) == own
    with pytest.raises(BadInput) as caught:
        runner.resolve_playbook(project, "nope.yml")
    assert "site.yml" in caught.value.problems[0].fix


def test_tally_from_stats() -> None:
    stats = {
        "ok": {"a": 5, "b": 2},
        "changed": {"a": 1},
        "failures": {"b": 1},
        "dark": {},
        "skipped": {"a": 3},
        "processed": {"a": 1, "b": 1, "c": 1},
    }
    hosts = runner.tally_from_stats(stats)
    assert list(hosts) == ["a", "b", "c"]
    assert (hosts["a"].ok, hosts["a"].changed, hosts["a"].skipped) == (5, 1, 3)
    assert hosts["b"].failed == 1
    result = runner.DeployResult("failed", 2, 1.0, Path("log"), hosts)
    assert not result.succeeded
    hosts["b"].failed = 0
    assert runner.DeployResult("successful", 0, 1.0, Path("log"), hosts).succeeded
    assert not runner.DeployResult("failed", 1, 1.0, Path("log"), {}).succeeded
    # --limit matching no host: ansible says so and exits 0
    assert runner.DeployResult("successful", 0, 1.0, Path("log"), {}).succeeded


def test_execute_logs_output_counts_stats_and_uses_a_fresh_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen_dirs: list[str] = []

    def fake_run(**kwargs: object) -> SimpleNamespace:
        seen_dirs.append(str(kwargs["private_data_dir"]))
        assert kwargs["cmdline"] == "--tags base"
        handler = kwargs["event_handler"]
        assert callable(handler)
        handler({"event": "playbook_on_task_start", "stdout": "TASK [Install]"})
        handler(
            {
                "event": "runner_on_ok",
                "stdout": "changed: [h]",
                "event_data": {"host": "h", "task": "Install", "duration": 3.5},
            }
        )
        handler(
            {
                "event": "playbook_on_stats",
                "stdout": "PLAY RECAP",
                "event_data": {"ok": {"h": 1}, "changed": {"h": 1}, "processed": {"h": 1}},
            }
        )
        return SimpleNamespace(status="successful", rc=0)

    monkeypatch.setitem(sys.modules, "ansible_runner", SimpleNamespace(run=fake_run))
    plan = runner.plan(_request(tmp_path, tags="base"), bin_dir=Path("/b"), path_env="", stamp="T3")
    events: list[str] = []
    for _ in range(2):
        result = runner.execute(plan, lambda e: events.append(str(e["event"])))
    assert result.succeeded
    assert result.hosts["h"].changed == 1
    assert result.slowest == [(3.5, "h", "Install")]
    text = plan.log_path.read_text()
    assert text.startswith("# ansible-playbook -i ")
    assert "TASK [Install]" in text and "PLAY RECAP" in text
    assert events.count("playbook_on_stats") == 2
    assert seen_dirs[0] != seen_dirs[1]
    assert not any(Path(d).exists() for d in seen_dirs)


def test_plan_passes_the_environment_the_inventory_reads(tmp_path: Path) -> None:
    request = _request(tmp_path, environment=(("BUREAU_APT_PROXY", "http://cache.example:3142"),))
    plan = runner.plan(request, bin_dir=Path("/b"), path_env="", stamp="T3")
    assert plan.envvars["BUREAU_APT_PROXY"] == "http://cache.example:3142"
