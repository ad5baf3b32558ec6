# dvops.charon: everyday entry points.
#   make run    the operator journey on the embedded local inventory (four nodes on this machine)
#   make test   the whole suite: unit, integration, sanity, lint, molecule (prints counts)
# Everything a fresh machine needs (Debian 12, root) is installed by these targets.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.dvops-installed
COLLECTION_LINK := .ansible/collections/ansible_collections/dvops/charon
INVENTORY ?= inventories/local
export PATH := $(CURDIR)/$(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

.PHONY: help venv collection-link run test unit lint sanity molecule testbed tools programs clean-local mutation

help:
	@echo "make venv | run | test | unit | lint | sanity | molecule | testbed | tools | programs | mutation | clean-local"

# --- venv: pinned controller + test tooling, and the collection link ------------------------
venv: $(STAMP) collection-link

$(STAMP): requirements/dev.txt requirements/crypto.txt
	@# Debian ships venv/ensurepip separately; install it when missing (root only).
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { \
	  [ "$$(id -u)" = 0 ] || { echo "python3-venv is missing: apt-get install python3-venv" >&2; exit 1; }; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv; }
	[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -r requirements/dev.txt
	touch $(STAMP)

# ansible.cfg resolves dvops.charon.* through this link, so a checkout needs no galaxy install.
collection-link:
	@mkdir -p $(dir $(COLLECTION_LINK))
	@[ -L $(COLLECTION_LINK) ] || ln -s ../../../.. $(COLLECTION_LINK)

# --- run: the journey on the local inventory -------------------------------------------------
run: venv tools
	$(BIN)/ansible-playbook site.yml -i $(INVENTORY)

# --- tools: extra programs other pieces of the suite need -------------------------------------
# >>> extra tool installs (one target per tool, added to TOOLS) >>>
TOOLS :=
# node stack: Compose v2 + promtool binaries in .cache/tools/bin (validate rendered stacks)
TOOLS += stack-tools
stack-tools:
	bash tests/testbed/install-tools.sh
# the real programs the roles pin (charon, geth), built from their Go modules into
# .cache/tools/programs (cached per version and build inputs: a second run builds nothing)
TOOLS += programs
programs:
	bash tests/testbed/build-programs.sh
# <<< extra tool installs <<<
tools: $(TOOLS)

# --- test bed: Docker engine, molecule base image, the stack's local images ----------------------
# (apt on a fresh machine; images under the names the roles render, rebuilt only when changed)
testbed:
	bash tests/testbed/ensure.sh

# --- tests ------------------------------------------------------------------------------------
# Here the test bed was just built: a test that finds a program or image missing fails, not skips.
test: export DVOPS_TESTBED_REQUIRED := 1
test: venv tools testbed
	bash tests/run-suite.sh

unit: venv
	bash tests/run-suite.sh unit integration

lint: venv
	bash tests/run-suite.sh lint

sanity: venv
	bash tests/run-suite.sh sanity

molecule: venv tools testbed
	bash tests/run-suite.sh molecule

# Mutation run over the security-critical helpers and the modules' refusal paths (not part of
# `make test`: ~20-30 min of one core when nothing is cached; a rerun only redoes what changed).
# Fails when the score is below 90 % or one of the audit's known bugs (issue 10) goes unnoticed.
mutation: venv
	$(BIN)/python tests/mutation/run.py $(MUTATION_ARGS)

clean-local:
	@echo "Refusing to delete .local/: it holds node keys. Remove it by hand if you really mean it." >&2
	@exit 1
