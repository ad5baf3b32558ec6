#!/usr/bin/env bash
# Wall time of a full converge of the node stack on the molecule `stack` hosts (three trixie
# systemd containers with nested Docker: python_deps, docker, network, geth, lighthouse, ENR,
# DKG, charon run, validator, monitoring), and of an idempotent re-run. Figures, not pass/fail.
#   bash bench/converge.sh            # create -> converge -> idempotence -> destroy
# Results: bench/results/converge-<date>.txt (git-ignored). Verbosity is dropped to 0 so the
# -vvv log of the scenario does not distort the timing.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PATH="$root/.venv/bin:$PATH" ANSIBLE_CONFIG="$root/ansible.cfg" PY_COLORS=0 ANSIBLE_FORCE_COLOR=0 NO_COLOR=1
mkdir -p bench/results
out="bench/results/converge-$(date -u +%Y%m%dT%H%M%SZ).txt"
scenario="${BENCH_SCENARIO:-stack}"
timed() { # label command...
  local start end
  start=$(date +%s%N)
  "${@:2}" >"$out.$1.log" 2>&1
  end=$(date +%s%N)
  ms=$(( (end - start) / 1000000 ))
  printf '%-28s %6d.%01d s\n' "$1" $((ms / 1000)) $((ms % 1000 / 100)) | tee -a "$out"
}
trap 'molecule destroy -s "$scenario" >/dev/null 2>&1 || true' EXIT
echo "# $(date -u +%FT%TZ) scenario=$scenario hosts=3 cores=$(nproc) load=$(cut -d' ' -f1-3 /proc/loadavg)" | tee "$out"
molecule destroy -s "$scenario" >/dev/null 2>&1 || true
timed create molecule create -s "$scenario"
timed converge-full env STACK_VERBOSITY=0 molecule converge -s "$scenario"
timed converge-idempotent env STACK_VERBOSITY=0 molecule idempotence -s "$scenario"
grep -h "changed=" "$out.converge-idempotent.log" | sed 's/^/  /' | tee -a "$out" || true
echo "results: $out"
