# Thin wrapper: the work is in src/bureau (Python) and roles/ (Ansible).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
# molecule and ansible-lint call ansible-config, ansible-playbook… by name.
export PATH := $(abspath $(BIN)):$(PATH)
INVENTORY ?= inventories/rehearsal
# Molecule scenarios: every molecule/*/molecule.yml. The longest start first so
# that the lanes finish together (the suite in one lane; the VM lane, real
# kernels under QEMU's emulation, in the other, then the small scenarios, which
# fill whichever lane frees first); the rest follow in name order.
LONGEST_FIRST := suite vm hardening pki directory-replication directory
ALL_SCENARIOS := $(notdir $(patsubst %/molecule.yml,%,$(wildcard molecule/*/molecule.yml)))
SCENARIOS ?= $(filter $(ALL_SCENARIOS),$(LONGEST_FIRST)) $(filter-out $(LONGEST_FIRST),$(ALL_SCENARIOS))
# Scenarios run side by side: each waits on apt, systemd and its daemons much of
# the time, so two lanes on two cores finish sooner than one (bench/README.md).
MOLECULE_JOBS ?= 2
MOLECULE_LOGS ?= .bureau/logs/molecule
# The package cache that scripts/host-setup runs (apt-cacher-ng): the scenarios
# give it to base__apt_proxy, so that every container of a run downloads each
# package once. Empty when it does not answer; BUREAU_APT_PROXY= forces no cache.
ifeq ($(origin BUREAU_APT_PROXY),undefined)
BUREAU_APT_PROXY := $(shell scripts/apt-proxy 2>/dev/null)
endif
export BUREAU_APT_PROXY

.PHONY: rehearsal test host venv image vm-image lint unit molecule verify bench upgrade-drill docs clean

## The two commands of the README
rehearsal: host venv image  ## Bring the rehearsal suite up in local containers and deploy to it
	$(BIN)/bureau rehearse up -i $(INVENTORY)

test: host venv image lint unit molecule  ## Everything CI runs

## Building blocks
host:
	scripts/host-setup

$(BIN)/bureau: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

venv: $(BIN)/bureau

# Debian 13 is what Bureau deploys; Debian 12 hosts the peers that prove the
# baseline on the previous release (molecule/hardening, molecule/pki).
image: venv
	$(BIN)/bureau image build
	$(BIN)/bureau image build --suite bookworm

# The VM image of molecule/vm (a disk, a kernel and an SSH key made at build
# time, under /var/lib/bureau/vm-images by recipe hash; BUREAU_VM_IMAGES moves
# it). Built by the VM scenario's own target, in its lane, so that the other
# lane's scenarios do not wait for it.
# A failed build fails the VM scenario, with the build's output as its log.
vm-image: venv
	@mkdir -p $(MOLECULE_LOGS); \
	if $(BIN)/bureau image build --vm > $(MOLECULE_LOGS)/vm-image.log 2>&1; then \
	  cat $(MOLECULE_LOGS)/vm-image.log; \
	else \
	  cat $(MOLECULE_LOGS)/vm-image.log; cp $(MOLECULE_LOGS)/vm-image.log $(MOLECULE_LOGS)/vm.log; \
	  touch $(MOLECULE_LOGS)/vm.failed; exit 1; \
	fi

lint: venv
	$(BIN)/yamllint --strict .
	$(BIN)/ansible-lint --profile production
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

unit: venv
	$(BIN)/pytest tests/unit

# The lines of a scenario's log that say what failed (pytest's summary, Ansible's
# fatal tasks, molecule's failed step), without colours and with molecule's
# wrapped lines joined: CI shows only the end of its output.
failures = sed 's/\x1b\[[0-9;]*m//g' $(1) | sed -z 's/\n  │   / /g' | grep -aE '(FAILED|ERROR) [^ ]+\.py::|fatal: \[|Executed: Failed' | cut -c1-300 | tail -n 30

# Each scenario's whole output goes to $(MOLECULE_LOGS)/<scenario>.log and is
# printed in one piece when it ends (--output-sync); any failure fails the target,
# after the running lanes have finished (--keep-going), with the failed list.
molecule: venv image
	@mkdir -p $(MOLECULE_LOGS); rm -f $(MOLECULE_LOGS)/*.failed
	@$(MAKE) --no-print-directory --keep-going --output-sync=target -j$(MOLECULE_JOBS) \
	  BUREAU_IMAGE=$$($(BIN)/bureau image name) \
	  BUREAU_IMAGE_BOOKWORM=$$($(BIN)/bureau image name --suite bookworm) \
	  $(addprefix scenario-,$(SCENARIOS)) \
	  || { for f in $(MOLECULE_LOGS)/*.failed; do s=$$(basename $$f .failed); \
	         echo "molecule: $$s failed:"; $(call failures,$(MOLECULE_LOGS)/$$s.log); done; \
	       echo "molecule: failed: $$(cd $(MOLECULE_LOGS) && ls *.failed | sed 's/.failed$$//' | tr '\n' ' ')" >&2; exit 1; }

# The VM scenario builds (or reuses) its image first, in its own lane: as a
# prerequisite, make would let the next scenarios of the list take the lane
# while the image builds, and the longest scenario would start last.
scenario-%: venv
	@$(if $(filter vm,$*),$(MAKE) --no-print-directory vm-image)
	@start=$$(date +%s); echo "==> molecule test -s $* (log: $(MOLECULE_LOGS)/$*.log)"; \
	if $(BIN)/molecule test -s $* > $(MOLECULE_LOGS)/$*.log 2>&1; then \
	  tail -n 40 $(MOLECULE_LOGS)/$*.log; echo "==> $* passed in $$(( $$(date +%s) - start )) s"; \
	else \
	  touch $(MOLECULE_LOGS)/$*.failed; cat $(MOLECULE_LOGS)/$*.log; \
	  echo "==> $* FAILED after $$(( $$(date +%s) - start )) s"; exit 1; \
	fi

# The loop of a developer: converge the suite once (`molecule converge -s suite`),
# then re-run one role's checks against it, without converging again:
#   make verify ROLE=mail      (tests/infra/mail; ROLE=suite for the journeys)
# It runs the scenario's own test files of that directory (never, say, the
# directory scenario's destructive import check against the suite), with the
# testinfra options and environment molecule's verifier uses, on the inventory
# of the converged scenario (SCENARIO, default suite).
SCENARIO ?= suite
ROLE ?= suite
verify: venv
	@$(BIN)/python scripts/verify-role $(SCENARIO) $(ROLE)

bench: venv image
	$(BIN)/python -m bench

# The Debian 12 → 13 upgrade drill on the suite's container (bench/upgrade_drill.py):
# 26 minutes on 2 cores (2026-12-06); QUICK=1 skips the checks on Debian 12.
upgrade-drill: venv image
	$(BIN)/python -m bench.upgrade_drill $(if $(QUICK),--quick)

docs: docs/diagrams/architecture.svg  ## Render the diagrams (needs Debian's graphviz)

docs/diagrams/%.svg: docs/diagrams/%.dot
	dot -Tsvg $< -o $@

clean:
	-$(BIN)/bureau rehearse down -i $(INVENTORY)
	rm -rf $(VENV)
