# Thin wrapper: the work is in src/bureau (Python) and roles/ (Ansible).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
# molecule and ansible-lint call ansible-config, ansible-playbook… by name.
export PATH := $(abspath $(BIN)):$(PATH)
INVENTORY ?= inventories/rehearsal
# Molecule scenarios, in the order CI runs them.
SCENARIOS ?= $(notdir $(patsubst %/molecule.yml,%,$(wildcard molecule/*/molecule.yml)))

.PHONY: rehearsal test host venv image lint unit molecule bench docs clean

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

image: venv
	$(BIN)/bureau image build

lint: venv
	$(BIN)/yamllint --strict .
	$(BIN)/ansible-lint --profile production
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

unit: venv
	$(BIN)/pytest tests/unit

molecule: venv image
	@set -e; for s in $(SCENARIOS); do \
	  echo "==> molecule test -s $$s"; \
	  BUREAU_IMAGE=$$($(BIN)/bureau image name) $(BIN)/molecule test -s $$s; \
	done

bench: venv image
	$(BIN)/python -m bench

docs: docs/diagrams/architecture.svg  ## Render the diagrams (needs Debian's graphviz)

docs/diagrams/%.svg: docs/diagrams/%.dot
	dot -Tsvg $< -o $@

clean:
	-$(BIN)/bureau rehearse down -i $(INVENTORY)
	rm -rf $(VENV)
