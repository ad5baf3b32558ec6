# -*- coding: utf-8 -*-
"""python_deps on this machine (connection local, a venv in a temporary dir, mode online with the
machine's pip configuration): the first run installs and stamps the venv, a rerun skips the probe and
pip (changed=0, the import check still runs), a stamp that no longer matches (other pins) installs again."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PLAY = """---
- name: python_deps alone
  hosts: localhost
  connection: local
  gather_facts: false
  roles:
    - role: dvops.charon.python_deps
"""


def run(tmp_path, **extra):
    play = tmp_path / "play.yml"
    play.write_text(PLAY)
    ev = tmp_path / "extra.json"
    ev.write_text(json.dumps(dict({"python_deps_mode": "online", "python_deps_venv": str(tmp_path / "venv"),
                                   "python_deps_system_python": sys.executable,
                                   "ansible_python_interpreter": sys.executable}, **extra)))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0", ANSIBLE_DISPLAY_SKIPPED_HOSTS="1")
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), str(play),
                           "-i", "localhost,", "-e", "@" + str(ev)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    changed = int(re.search(r"^localhost\s+:.*changed=(\d+)", proc.stdout, re.M).group(1))
    return proc.stdout, changed


def _task_status(out, name):
    """The status line after a task header (ok/changed/skipping), or None when the task did not appear."""
    m = re.search(r"TASK \[[^\]]*%s[^\]]*\][^\n]*\n(\w+)" % re.escape(name), out)
    return m.group(1) if m else None


def test_install_once_then_skip_until_the_stamp_changes(tmp_path):
    first, changed = run(tmp_path)
    assert changed > 0 and _task_status(first, "Install the packages into the venv") == "changed"
    stamp = tmp_path / "venv" / ".dvops-installed"
    assert "coincurve==" in stamp.read_text() and "mode=online" in stamp.read_text()

    second, changed = run(tmp_path)
    assert changed == 0, second[-3000:]
    # Skipped as a whole (the include did not run), the import check still ran.
    assert _task_status(second, "Ask the system Python") is None
    assert _task_status(second, "Install the packages into the venv") is None
    assert _task_status(second, "Import the crypto libraries") == "ok"

    # A stamp that no longer matches (edited here; other pins, mode or system Python write another one).
    stamp.write_text(stamp.read_text() + "# edited\n")
    third, changed = run(tmp_path)
    assert _task_status(third, "Install the packages into the venv") in ("ok", "changed")
    assert changed > 0 and "# edited" not in stamp.read_text()
