#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""Wall time of site.yml on the local inventory (4 nodes on this machine): first run and idempotent
rerun, for 2 and for 100 validators, each beside a baseline taken in the same run (issue 12, Speed).

The machine is shared and noisy, so no figure stands alone: right before each site.yml run the bench
times a playbook of 50 ansible.builtin.stat tasks on the same four hosts (same inventory, same forks) and
reports every figure as a ratio to that baseline, for the wall time and for the CPU time of
ansible-playbook and all it started (the CPU ratio moves far less when other users load the machine).
Figures, not pass/fail; the one hard check is that every rerun reports changed=0.

Nothing real is touched: the inventory is copied into a scratch directory (default a fresh
.local/bench-rerun-<time>/, git-ignored) and every node's base dir and the backups go there too.
The scratch directory is left in place (it holds keys); remove it by hand when done.

    .venv/bin/python bench/rerun.py                       # 2 and 100 validators
    .venv/bin/python bench/rerun.py --validators 2 --profile   # + the 15 slowest tasks of each run
    .venv/bin/python bench/rerun.py --reruns 2 --extra charon_verify_always=true

Results: bench/results/rerun-<time>.txt (git-ignored) and the logs of each run beside it.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOSTS = "dvops_cluster"
STATS = 50

# A callback written into the scratch dir when --profile is given: per-task wall time summed over
# hosts' results as they arrive (tasks run on the 4 hosts in parallel, so the task's own wall time is
# from its start to the next task's start).
PROFILE_CALLBACK = '''
import time
from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_profile"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._rows, self._current, self._start = [], None, None

    def _close(self):
        if self._current is not None:
            self._rows.append((time.time() - self._start, self._current))
            self._current = None

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._close()
        self._current, self._start = "%s | %s" % (task.get_path() or "", task.get_name()), time.time()

    v2_playbook_on_handler_task_start = v2_playbook_on_task_start

    def v2_playbook_on_stats(self, stats):
        self._close()
        total = sum(t for t, _ in self._rows)
        self._display.display("BENCH-PROFILE total %.1f s over %d tasks" % (total, len(self._rows)))
        merged = {}
        for t, name in self._rows:
            merged.setdefault(name, [0.0, 0])
            merged[name][0] += t
            merged[name][1] += 1
        for name, (t, n) in sorted(merged.items(), key=lambda kv: -kv[1][0])[:25]:
            self._display.display("BENCH-PROFILE %7.2f s %3dx %s" % (t, n, name))
'''


def _baseline_playbook(path):
    with open(path, "w") as f:
        f.write("---\n- name: Baseline (%d stat tasks)\n  hosts: %s\n  gather_facts: false\n  tasks:\n"
                % (STATS, HOSTS))
        for k in range(STATS):
            f.write("    - name: Stat %d\n      ansible.builtin.stat:\n        path: \"{{ dvops_local_root }}\"\n" % k)


def _vars_file(path, scratch, validators, extra, tools):
    with open(path, "w") as f:
        f.write("---\n# bench/rerun.py: everything this bench writes stays in %s\n" % scratch)
        f.write("dvops_local_root: %s\n" % ROOT)
        # The shared tool cache (DVOPS_TOOLS_DIR), where the inventory looks in the checkout's own.
        f.write("docker_compose_command: %s\n" % os.path.join(tools, "bin", "docker-compose"))
        f.write("monitoring_promtool_command: %s\n" % os.path.join(tools, "bin", "promtool"))
        f.write("charon_base_dir: \"%s/{{ inventory_hostname }}\"\n" % os.path.join(scratch, "v%d" % validators))
        f.write("charon_backup_dir: %s\n" % os.path.join(scratch, "v%d" % validators, "backups"))
        f.write("dvops_num_validators: %d\n" % validators)
        for item in extra:
            key, value = item.split("=", 1)
            f.write("%s: %s\n" % (key, value))


def _recap(log):
    """{host: changed} from the PLAY RECAP."""
    out = {}
    for m in re.finditer(r"^(\S+)\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", log, re.M):
        out[m.group(1)] = (int(m.group(2)), int(m.group(3)), int(m.group(4)))
    return out


def _run(label, playbook, inventory, vars_file, logdir, env, profile):
    cmd = [os.path.join(ROOT, ".venv", "bin", "ansible-playbook"), playbook, "-i", inventory]
    if vars_file:
        cmd += ["-e", "@" + vars_file]
    start, ru = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, check=False)
    wall = time.monotonic() - start
    ru_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # CPU of ansible-playbook and every process it waited for (its forks, the modules): what the run
    # costs, far less disturbed than the wall time by the other users of a shared machine.
    cpu = (ru_after.ru_utime - ru.ru_utime) + (ru_after.ru_stime - ru.ru_stime)
    log = os.path.join(logdir, label + ".log")
    with open(log, "w") as f:
        f.write(proc.stdout)
    recap = _recap(proc.stdout)
    failed = proc.returncode != 0 or any(r[1] or r[2] for r in recap.values())
    changed = sum(r[0] for r in recap.values())
    prof = [line for line in proc.stdout.splitlines() if line.startswith("BENCH-PROFILE")] if profile else []
    return wall, cpu, changed, failed, log, prof


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--validators", type=int, nargs="+", default=[2, 100])
    ap.add_argument("--reruns", type=int, default=1, help="idempotent reruns per size (default 1)")
    ap.add_argument("--scratch", help="scratch dir (default .local/bench-rerun-<time>); an existing one is reused, "
                                      "so its first run is then a rerun")
    ap.add_argument("--profile", action="store_true", help="print the slowest tasks of each run")
    ap.add_argument("--extra", action="append", default=[], metavar="VAR=VALUE",
                    help="extra variable for the site.yml runs (YAML value)")
    args = ap.parse_args()
    for item in args.extra:
        if "=" not in item:
            ap.error("--extra %s: expected VAR=VALUE" % item)

    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    scratch = os.path.abspath(args.scratch or os.path.join(ROOT, ".local", "bench-rerun-" + stamp))
    os.makedirs(scratch, exist_ok=True)
    inventory = os.path.join(scratch, "inventory")
    if not os.path.isdir(inventory):
        shutil.copytree(os.path.join(ROOT, "inventories", "local"), inventory)
    results = os.path.join(ROOT, "bench", "results")
    logdir = os.path.join(results, "rerun-" + stamp)
    os.makedirs(logdir, exist_ok=True)
    baseline = os.path.join(scratch, "baseline.yml")
    _baseline_playbook(baseline)

    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               PY_COLORS="0", ANSIBLE_FORCE_COLOR="0",
               DVOPS_TOOLS_DIR=os.environ.get("DVOPS_TOOLS_DIR", os.path.join(ROOT, ".cache", "tools")))
    env["PATH"] = os.path.join(ROOT, ".venv", "bin") + os.pathsep + env.get("PATH", "")
    if args.profile:
        cb = os.path.join(scratch, "callback_plugins")
        os.makedirs(cb, exist_ok=True)
        with open(os.path.join(cb, "bench_profile.py"), "w") as f:
            f.write(PROFILE_CALLBACK)
        env.update(ANSIBLE_CALLBACK_PLUGINS=cb, ANSIBLE_CALLBACKS_ENABLED="bench_profile")

    out_path = os.path.join(results, "rerun-%s.txt" % stamp)
    lines = []

    def say(text):
        print(text, flush=True)
        lines.append(text)

    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    say("# %s cores=%d load=%s scratch=%s" % (stamp, os.cpu_count() or 0, load, scratch))
    if args.extra:
        say("# extra: %s" % " ".join(args.extra))
    say("%-24s %8s %8s %8s %8s %8s  %s" % ("run", "wall s", "x base", "cpu s", "x base", "changed", "log"))
    summary = {}
    bad = False
    for n in args.validators:
        vars_file = os.path.join(scratch, "vars-v%d.yml" % n)
        _vars_file(vars_file, scratch, n, args.extra, env["DVOPS_TOOLS_DIR"])
        labels = ["first"] + ["rerun%d" % (i + 1) for i in range(args.reruns)]
        if os.path.exists(os.path.join(scratch, "v%d" % n, "node1", ".charon", "cluster-lock.json")):
            # A reused scratch dir (--scratch): its first run would be a rerun, and the one to time is.
            say("v%d first: skipped, %s already holds this size's data dirs" % (n, scratch))
            labels = labels[1:]
        for label in labels:
            k = 0 if label == "first" else 1
            # Each run right after its own baseline (pairs), so a change of the machine's load between
            # runs does not move the ratio as much.
            base, bcpu, _changed, bfail, blog, _prof = _run("v%d-%s-baseline" % (n, label), baseline, inventory,
                                                            vars_file, logdir, env, False)
            say("%-24s %8.1f %8s %8.1f %8s %8s  %s%s"
                % ("  baseline (%d stat)" % STATS, base, "1.00", bcpu, "1.00", "-", blog, "  FAILED" if bfail else ""))
            bad |= bfail
            wall, cpu, changed, failed, log, prof = _run("v%d-%s" % (n, label), os.path.join(ROOT, "site.yml"),
                                                         inventory, vars_file, logdir, env, args.profile)
            note = "  FAILED" if failed else ("  NOT IDEMPOTENT" if k > 0 and changed else "")
            bad |= failed or (k > 0 and changed > 0)
            say("%-24s %8.1f %8.2f %8.1f %8.2f %8d  %s%s"
                % ("v%d %s" % (n, label), wall, wall / base, cpu, cpu / bcpu, changed, log, note))
            for line in prof:
                say("    " + line[len("BENCH-PROFILE "):])
            if k > 0:
                summary.setdefault(n, []).append((wall / base, cpu / bcpu))
    if len(summary) > 1:
        sizes = sorted(summary)
        for what, j in (("wall", 0), ("cpu", 1)):
            small = min(r[j] for r in summary[sizes[0]])
            large = min(r[j] for r in summary[sizes[-1]])
            say("rerun %d vs %d validators, %s (best ratios to their baselines): %.2f vs %.2f, %+.0f %%"
                % (sizes[-1], sizes[0], what, large, small, 100.0 * (large / small - 1)))
    with open(out_path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("results: %s" % out_path)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
