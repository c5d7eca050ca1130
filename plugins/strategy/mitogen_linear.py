"""Ansible's linear strategy over Mitogen, the project's default (ansible.cfg).

Mitogen (PyPI `mitogen`, pinned in pyproject.toml) keeps one Python
interpreter per host for the whole run and sends modules to it, instead of
starting Python and copying each module for every task: a no-change run of
site.yml on the rehearsal took a third of the time (bench/README.md).

This file is the strategy Ansible loads by name from ansible.cfg's
strategy_plugins (and molecule's ANSIBLE_STRATEGY_PLUGINS): it imports the
installed package, so no path of a machine is written anywhere.

Three things it changes in Mitogen's own `mitogen_linear`:
- Mitogen only takes over connections named by their short names (`ssh`,
  `docker`); our inventories, and molecule's docker driver, name them in full
  (`ansible.builtin.ssh`, `community.docker.docker`), which Mitogen would
  silently leave to Ansible. The full names are mapped to Mitogen's
  connections here.
- The controller's own `local` connection stays Ansible's: molecule's create
  and destroy playbooks start `poll: 0` async jobs on localhost, whose
  async_status never finished under Mitogen's local connection (molecule
  destroy waited out its 300 retries). Mitogen runs an action on a connection
  that is not its own as plain Ansible would.
- BUREAU_MITOGEN=0 in the environment turns Mitogen off: the plain linear
  strategy and Ansible's own connections run, everything else unchanged (to
  compare, as bench/baseline.py does, or to rule Mitogen out of a problem).
"""

from __future__ import annotations

import os
from typing import Any

# Full names of the connections Mitogen has a replacement for, and its name for each.
SHORT_NAMES = {
    "ansible.builtin.ssh": "ssh",
    "ansible.legacy.ssh": "ssh",
    "community.docker.docker": "docker",
}
# Connections left to Ansible (see above).
LEFT_TO_ANSIBLE = {"local", "ansible.builtin.local", "ansible.legacy.local"}


def mitogen_enabled() -> bool:
    return os.environ.get("BUREAU_MITOGEN", "1").strip().lower() not in ("0", "false", "no", "off")


if mitogen_enabled():
    import ansible_mitogen.loaders  # first: it refuses an Ansible release Mitogen does not know
    import ansible_mitogen.strategy

    _redirect = ansible_mitogen.strategy.wrap_connection_loader__get_with_context

    def _get_connection(name: str, *args: Any, **kwargs: Any) -> Any:
        load = ansible_mitogen.loaders.connection_loader__get_with_context  # Ansible's own
        if name in LEFT_TO_ANSIBLE:
            return load(name, *args, **kwargs)
        short = SHORT_NAMES.get(name)
        if short is None:
            return _redirect(name, *args, **kwargs)
        return load(f"mitogen_{short}", *args, **kwargs)

    # Mitogen installs this function as the connection loader's get_with_context
    # while the strategy runs (AnsibleWrappers._install_wrappers reads it then).
    ansible_mitogen.strategy.wrap_connection_loader__get_with_context = _get_connection

    _Linear = ansible_mitogen.loaders.strategy_loader.get("linear", class_only=True)

    class StrategyModule(ansible_mitogen.strategy.StrategyMixin, _Linear):  # type: ignore[misc,valid-type]
        """Ansible's linear strategy, its connections and actions run through Mitogen."""

else:
    from ansible.plugins.loader import strategy_loader

    StrategyModule = strategy_loader.get("linear", class_only=True)  # type: ignore[misc]
