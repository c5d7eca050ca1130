"""Connection settings for an import: options first, then the inventory and its vault."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from bureau.core import inventory as inventories
from bureau.core import vault
from bureau.core.settings import project_root
from bureau.core.users.ldapdir import Connection
from bureau.core.users.plan import Target
from bureau.errors import BadInput, Problem

PASSWORD_SECRET = "vault_directory_provisioning_password"
ENV_URI = "BUREAU_LDAP_URI"
ENV_PASSWORD = "BUREAU_LDAP_PASSWORD"


def base_dn(domain: str) -> str:
    """gouv.tg → dc=gouv,dc=tg"""
    return ",".join(f"dc={part}" for part in domain.lower().split("."))


@dataclass(frozen=True)
class Options:
    inventory: Path
    uri: str | None = None
    ca_file: str | None = None
    bind_dn: str | None = None
    password_file: Path | None = None
    domain: str | None = None
    default_quota: int = 2048
    starttls: bool = True
    tls_name: str | None = None


def domain_of(options: Options) -> tuple[str, inventories.Inventory | None]:
    if options.domain:
        return options.domain.lower(), None
    loaded = inventories.load(options.inventory)
    domain = loaded.group_vars.get("all", {}).get("bureau__domain")
    if not isinstance(domain, str) or not domain:
        raise BadInput(
            "the inventory names no domain",
            [
                Problem(
                    str(options.inventory),
                    "bureau__domain",
                    "is not set in group_vars/all",
                    "set bureau__domain (e.g. gouv.tg) in group_vars/all/site.yml or pass --domain",
                )
            ],
        )
    return domain.lower(), loaded


def _password(options: Options, loaded: inventories.Inventory | None) -> str:
    if options.password_file is not None:
        try:
            return options.password_file.read_text(encoding="utf-8").strip()
        except OSError as err:
            raise BadInput(
                f"cannot read {options.password_file}",
                [
                    Problem(
                        str(options.password_file),
                        "--password-file",
                        err.strerror or str(err),
                        "check the path",
                    )
                ],
            ) from err
    if os.environ.get(ENV_PASSWORD):
        return os.environ[ENV_PASSWORD]
    where = loaded.path if loaded else inventories.find_hosts_file(options.inventory).parent
    secrets = vault.read(vault.vault_file(where), vault.password_file(project_root(), where.name))
    value = secrets.get(PASSWORD_SECRET)
    if not isinstance(value, str) or not value:
        raise BadInput(
            "no provisioning password",
            [
                Problem(
                    str(vault.vault_file(where)),
                    PASSWORD_SECRET,
                    "is not in the vault",
                    "add it (bureau rehearse up generates it) or pass --password-file",
                )
            ],
        )
    return value


def resolve(options: Options) -> tuple[Connection, Target]:
    domain, loaded = domain_of(options)
    base = base_dn(domain)
    target = Target(base_dn=base, domain=domain, default_quota=options.default_quota)
    connection = Connection(
        uri=options.uri or os.environ.get(ENV_URI) or f"ldaps://ldap.{domain}",
        bind_dn=options.bind_dn or f"cn=provisioning,ou=services,{base}",
        password=_password(options, loaded),
        ca_file=options.ca_file,
        starttls=options.starttls,
        tls_name=options.tls_name,
    )
    return connection, target
