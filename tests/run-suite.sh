#!/usr/bin/env bash
# The whole test suite, stage by stage, with counts per stage and one summary line at the end.
#   bash tests/run-suite.sh                 # all stages: unit integration sanity lint molecule
#   bash tests/run-suite.sh unit lint       # only some
#   MOLECULE_SCENARIOS="enr" bash tests/run-suite.sh molecule
# Discovery: unit = tests/unit, integration = tests/integration (test_*.py; none is fine),
# molecule = every molecule/*/molecule.yml except those with an OPT_IN file (run them with MOLECULE_SCENARIOS). Exit status is non-zero when any stage fails.
# Stages are called indirectly ("stage_$name"), which shellcheck cannot follow.
# shellcheck disable=SC2317
set -uo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root" || exit 1
export PATH="$root/.venv/bin:$PATH"
# ansible-compat (ansible-lint, molecule) keeps its cache in $VIRTUAL_ENV/.ansible when set, instead of
# ~/.ansible where a stale installed copy of this collection could shadow the checkout.
export VIRTUAL_ENV="$root/.venv"
export ANSIBLE_CONFIG="$root/ansible.cfg"
export PYTHONPATH="$root/.ansible/collections${PYTHONPATH:+:$PYTHONPATH}"
export ANSIBLE_FORCE_COLOR=0 PY_COLORS=0 NO_COLOR=1

out="$root/tests/output/suite"
mkdir -p "$out"
stages=("$@")
((${#stages[@]})) || stages=(unit integration sanity lint molecule)

declare -a summary=()
failed=0
# Totals over all stages (tests, sanity tests, lint runs, molecule scenarios) for the closing line.
total_passed=0
total_failed=0
tally() { total_passed=$((total_passed + $1)); total_failed=$((total_failed + $2)); }
suite_start=$SECONDS

banner() { printf '\n========== %s ==========\n' "$*"; }
record() { # stage status detail seconds
  summary+=("$(printf '%-12s %-4s %s (%ss)' "$1" "$2" "$3" "$4")")
  [ "$2" = ok ] || failed=1
}

junit_counts() { # file -> "passed failed errors skipped total"
  python - "$1" <<'PY'
import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot()
suites = [r] if r.tag == "testsuite" else list(r)
t = sum(int(s.get("tests", 0)) for s in suites)
f = sum(int(s.get("failures", 0)) for s in suites)
e = sum(int(s.get("errors", 0)) for s in suites)
k = sum(int(s.get("skipped", 0)) for s in suites)
print(t - f - e - k, f, e, k, t)
PY
}

run_pytest() { # stage dir required(yes|no)
  local stage=$1 dir=$2 required=$3 start=$SECONDS rc
  banner "$stage: pytest $dir"
  if ! find "$dir" -name 'test_*.py' 2>/dev/null | grep -q .; then
    if [ "$required" = yes ]; then
      record "$stage" FAIL "no tests found in $dir" $((SECONDS - start))
    else
      echo "no tests in $dir"
      record "$stage" ok "0 tests (none present)" $((SECONDS - start))
    fi
    return
  fi
  local xdist=()
  # A handful of workers pays off only for the slower integration playbooks.
  [ "$stage" = integration ] && xdist=(-n "${PYTEST_WORKERS:-2}")
  pytest "$dir" -p no:cacheprovider -ra --junitxml="$out/$stage.xml" "${xdist[@]}"
  rc=$?
  if [ -f "$out/$stage.xml" ] && [ "$rc" -ne 5 ]; then
    read -r p f e s t < <(junit_counts "$out/$stage.xml")
    local detail="$t tests: $p passed, $f failed, $e errors, $s skipped"
    tally "$p" $((f + e))
  else
    local detail="pytest exit $rc (no tests collected?)"
    tally 0 1
  fi
  if [ "$rc" -eq 0 ]; then record "$stage" ok "$detail" $((SECONDS - start)); else record "$stage" FAIL "$detail" $((SECONDS - start)); fi
}

stage_unit() { run_pytest unit tests/unit yes; }
stage_integration() { run_pytest integration tests/integration no; }

stage_sanity() {
  local start=$SECONDS rc pyver tmp coll log="$out/sanity.log"
  banner "sanity: ansible-test sanity --local"
  pyver="$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  # ansible-test fetches get-pip from a site we cannot reach unless a bootstrap is cached.
  mkdir -p "$HOME/.ansible/test/cache"
  cp "$root/tests/testbed/get_pip_bootstrap.py" "$HOME/.ansible/test/cache/get_pip_24_2.py"
  # ansible-test wants a real .../ansible_collections/dvops/charon path (the .ansible link
  # resolves away), so sanity runs on a copy of the tracked and new, non-ignored files.
  tmp="$(mktemp -d)"
  coll="$tmp/ansible_collections/dvops/charon"
  mkdir -p "$coll"
  git ls-files -co --exclude-standard -z | while IFS= read -r -d '' f; do
    [ -e "$f" ] && cp -P --parents "$f" "$coll/"
  done
  (cd "$coll" && ansible-test sanity --local --python "$pyver" --color no) 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  rm -rf "$tmp"
  local ran failed_tests total
  ran=$(grep -cE '^Running sanity test ' "$log")
  # ansible-test ends a failed run with: FATAL: The N sanity test(s) listed below (out of M) failed.
  failed_tests=$(sed -nE 's/^FATAL: The ([0-9]+) sanity test.*/\1/p' "$log" | tail -1)
  total=$(sed -nE 's/^FATAL: .*\(out of ([0-9]+)\).*/\1/p' "$log" | tail -1)
  failed_tests=${failed_tests:-$([ "$rc" -eq 0 ] && echo 0 || echo "?")}
  ran="${total:-$ran}"
  local detail="$ran tests run, $failed_tests failed"
  if [[ "$ran" =~ ^[0-9]+$ && "$failed_tests" =~ ^[0-9]+$ ]]; then tally $((ran - failed_tests)) "$failed_tests"; else tally 0 1; fi
  if [ "$rc" -eq 0 ]; then record sanity ok "$detail" $((SECONDS - start)); else record sanity FAIL "$detail (exit $rc)" $((SECONDS - start)); fi
}

stage_lint() {
  local start=$SECONDS rc log="$out/lint.log"
  banner "lint: ansible-lint (production profile)"
  ansible-lint --nocolor 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  local line
  line=$(grep -E "^(Passed|Failed): " "$log" | tail -1)
  line=${line:-"no result line (exit $rc)"}
  if [ "$rc" -eq 0 ]; then tally 1 0; else tally 0 1; fi
  if [ "$rc" -eq 0 ]; then record lint ok "$line" $((SECONDS - start)); else record lint FAIL "$line" $((SECONDS - start)); fi
}

stage_molecule() {
  local start=$SECONDS names=() passed=0 failures=() s t0 rc
  if [ -n "${MOLECULE_SCENARIOS:-}" ]; then
    read -r -a names <<<"$MOLECULE_SCENARIOS"
  else
    # A scenario with an OPT_IN file runs only when named (its text says why: e.g. realbed's length).
    for f in molecule/*/molecule.yml; do
      [ -e "$f" ] || continue
      if [ -e "$(dirname "$f")/OPT_IN" ]; then
        echo "molecule: $(basename "$(dirname "$f")") skipped (opt-in: $(head -1 "$(dirname "$f")/OPT_IN"))"
        continue
      fi
      names+=("$(basename "$(dirname "$f")")")
    done
  fi
  if ! ((${#names[@]})); then
    record molecule FAIL "no scenarios found (molecule/*/molecule.yml)" 0
    return
  fi
  for s in "${names[@]}"; do
    banner "molecule: scenario $s"
    t0=$SECONDS
    molecule test -s "$s" 2>&1 | tee "$out/molecule-$s.log"
    rc=${PIPESTATUS[0]}
    if [ "$rc" -eq 0 ]; then
      passed=$((passed + 1)); echo "molecule $s: passed in $((SECONDS - t0))s"
    else
      failures+=("$s"); echo "molecule $s: FAILED (exit $rc) in $((SECONDS - t0))s"
    fi
  done
  local detail="${passed}/${#names[@]} scenarios passed (${names[*]})"
  tally "$passed" "${#failures[@]}"
  if ((${#failures[@]})); then record molecule FAIL "$detail; failed: ${failures[*]}" $((SECONDS - start)); else record molecule ok "$detail" $((SECONDS - start)); fi
}

for st in "${stages[@]}"; do
  case "$st" in
    unit|integration|sanity|lint|molecule) "stage_$st" ;;
    *) echo "unknown stage: $st" >&2; exit 2 ;;
  esac
done

banner "summary"
printf '%s\n' "${summary[@]}"
if [ $failed -eq 0 ]; then
  echo "SUITE PASSED: ${#summary[@]} stage(s) in $((SECONDS - suite_start))s"
else
  echo "SUITE FAILED: see the stages marked FAIL above ($((SECONDS - suite_start))s)"
fi
# The plain closing line CI reads: tests, sanity tests, lint runs and molecule scenarios together.
echo "suite: $total_passed passed, $total_failed failed"
exit $failed
