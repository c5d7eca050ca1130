from __future__ import annotations

import stat
from pathlib import Path

import pytest

from bureau.core import vault


def test_round_trip(tmp_path: Path) -> None:
    password = tmp_path / "state" / "vault-pass"
    assert vault.ensure_password_file(password)
    assert not vault.ensure_password_file(password)  # kept, not replaced
    assert stat.S_IMODE(password.stat().st_mode) == 0o600
    path = tmp_path / "group_vars" / "all" / "vault.yml"
    vault.write(path, {"vault_b": "two", "vault_a": "one"}, password)
    assert path.read_bytes().startswith(b"$ANSIBLE_VAULT;")
    assert b"one" not in path.read_bytes()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert vault.read(path, password) == {"vault_a": "one", "vault_b": "two"}


def test_wrong_password_says_how_to_fix(tmp_path: Path) -> None:
    right, wrong = tmp_path / "right", tmp_path / "wrong"
    right.write_text("right-password\n")
    wrong.write_text("wrong-password\n")
    path = tmp_path / "vault.yml"
    vault.write(path, {"vault_x": "secret"}, right)
    with pytest.raises(vault.VaultError) as caught:
        vault.read(path, wrong)
    assert "cannot decrypt" in caught.value.message
    assert "rehearse up" in caught.value.fix


def test_missing_password_file_and_clear_vault(tmp_path: Path) -> None:
    path = tmp_path / "vault.yml"
    path.write_text("vault_x: clear\n")
    with pytest.raises(vault.VaultError) as caught:
        vault.read(path, tmp_path / "pass")
    assert "not encrypted" in caught.value.message
    with pytest.raises(vault.VaultError) as caught:
        vault.write(path, {}, tmp_path / "pass")
    assert "does not exist" in caught.value.message


def test_password_file_from_environment_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(vault.ENV_PASSWORD_FILE, raising=False)
    assert vault.password_file(tmp_path, "staging") == tmp_path / ".bureau/staging/vault-pass"
    monkeypatch.setenv(vault.ENV_PASSWORD_FILE, str(tmp_path / "elsewhere"))
    assert vault.password_file(tmp_path, "staging") == tmp_path / "elsewhere"


def test_random_values_are_letters_and_digits() -> None:
    value = vault.random_value(40)
    assert len(value) == 40 and value.isalnum()
    assert value != vault.random_value(40)
