#!/usr/bin/env bash
# The real bed's figures (molecule/realbed: four hosts, the stack started, the real charon v1.10.3):
#   1. site.yml from its start until all four nodes answer /readyz 200 and have duties succeeding;
#   2. the idempotent rerun of site.yml;
# each beside a baseline from the same run: a playbook of 50 ansible.builtin.stat tasks on the
# same four hosts, right before it (the machine's load changes a lot between runs; the ratio is
# the comparable figure).
#   bash bench/realbed.sh            # create + prepare (not timed), the measures, destroy
# Needs the images of tests/testbed (docker images) and `make venv`. Plain output, one line per figure.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PATH="$root/.venv/bin:$PATH" VIRTUAL_ENV="$root/.venv"
export PYTHONPATH="$root/.ansible/collections${PYTHONPATH:+:$PYTHONPATH}"
export ANSIBLE_FORCE_COLOR=0 PY_COLORS=0 NO_COLOR=1
# A known ephemeral directory, so that the baseline playbook uses molecule's own inventory.
export MOLECULE_EPHEMERAL_DIRECTORY="${MOLECULE_EPHEMERAL_DIRECTORY:-$root/tests/output/bench-realbed}"
log="$root/tests/output/bench-realbed.log"
mkdir -p "$MOLECULE_EPHEMERAL_DIRECTORY" "$(dirname "$log")"
: >"$log"

baseline_playbook="$MOLECULE_EPHEMERAL_DIRECTORY/stat50.yml"
{
  echo "---"
  echo "- name: Baseline, 50 stat tasks"
  echo "  hosts: dvops_cluster"
  echo "  gather_facts: false"
  echo "  tasks:"
  for i in $(seq 1 50); do
    printf '    - name: stat %d\n      ansible.builtin.stat:\n        path: /etc/hostname\n' "$i"
  done
} >"$baseline_playbook"

secs() { python3 -c 'import time; print("%.1f" % time.monotonic())'; }
elapsed() { python3 -c "print('%.1f' % ($2 - $1))"; }

baseline() { # label
  local t0 t1
  t0=$(secs)
  ANSIBLE_CONFIG="$MOLECULE_EPHEMERAL_DIRECTORY/ansible.cfg" ANSIBLE_PIPELINING=true \
    ansible-playbook -i "$MOLECULE_EPHEMERAL_DIRECTORY/inventory" "$baseline_playbook" >>"$log" 2>&1
  t1=$(secs)
  echo "baseline (50 stat tasks, 4 hosts) before $1: $(elapsed "$t0" "$t1") s"
}

cleanup() { molecule destroy -s realbed >>"$log" 2>&1 || true; }
trap cleanup EXIT

molecule destroy -s realbed >>"$log" 2>&1
t0=$(secs)
molecule create -s realbed >>"$log" 2>&1
molecule prepare -s realbed >>"$log" 2>&1
t1=$(secs)
echo "create + prepare (engine, images loaded, relay; not part of site.yml): $(elapsed "$t0" "$t1") s"

baseline "site.yml"
t0=$(secs)
molecule converge -s realbed >>"$log" 2>&1
t1=$(secs)
# molecule/realbed/ready.yml (verify starts with it): /readyz 200 and duties succeeding on all four (bounded waits).
ANSIBLE_CONFIG="$MOLECULE_EPHEMERAL_DIRECTORY/ansible.cfg" ANSIBLE_PIPELINING=true \
  ansible-playbook -i "$MOLECULE_EPHEMERAL_DIRECTORY/inventory" molecule/realbed/ready.yml \
  >>"$log" 2>&1
t2=$(secs)
echo "site.yml (stack started): $(elapsed "$t0" "$t1") s; until all four ready with duties succeeding: $(elapsed "$t0" "$t2") s"

baseline "the rerun"
t0=$(secs)
molecule idempotence -s realbed >>"$log" 2>&1
t1=$(secs)
echo "idempotent rerun of site.yml (changed=0 checked by molecule): $(elapsed "$t0" "$t1") s"
echo "log: $log"
