# -*- coding: utf-8 -*-
"""The crypto venv's interpreter is set once per play, never on a task (issue 14).

Every play of playbooks/ that reaches a task of a dvops.charon module needing the crypto libraries
(its module file imports ``_deps``) through the roles and task files it runs must set
``ansible_python_interpreter`` in its play vars, to the one expression below; no role task sets it
itself, so a new crypto task cannot be added with it and forgotten elsewhere.
"""

from __future__ import annotations

import glob
import os
import re

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXPRESSION = "{{ python_deps_python | default(hostvars[inventory_hostname].ansible_python_interpreter | default(omit)) }}"
INCLUDES = ("include_tasks", "import_tasks")
ROLE_INCLUDES = ("include_role", "import_role")


def _load(path):
    with open(os.path.join(ROOT, path)) as f:
        return yaml.safe_load(f) or []


def crypto_modules():
    names = set()
    for path in glob.glob(os.path.join(ROOT, "plugins", "modules", "*.py")):
        with open(path) as f:
            if re.search(r"module_utils import \(?[^)]*?\b_deps\b", f.read()):
                names.add(os.path.basename(path)[:-3])
    return names


def _action(task):
    for key in task:
        short = key.split(".")[-1]
        if key.startswith(("ansible.builtin.", "dvops.charon.", "community.")) or short in INCLUDES + ROLE_INCLUDES:
            return key, short
    return None, None


def _walk_tasks(tasks):
    for task in tasks or []:
        yield task
        for key in ("block", "rescue", "always"):
            yield from _walk_tasks(task.get(key))


def _task_files(role, name):
    """Task files an include names (a templated name: every file it can match)."""
    pattern = re.sub(r"\{\{.*?\}\}", "*", name if name.endswith(".yml") else name + ".yml")
    return sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "roles", role, "tasks", pattern)))


def modules_reached(role, tasks_from="main", seen=None):
    """dvops.charon module names the role entry point runs, through its includes and included roles."""
    seen = set() if seen is None else seen
    found = set()
    for path in _task_files(role, tasks_from):
        if path in seen:
            continue
        seen.add(path)
        for task in _walk_tasks(_load(path)):
            key, short = _action(task)
            if key is None:
                continue
            if key.startswith("dvops.charon."):
                found.add(short)
            elif short in INCLUDES:
                arg = task[key] if isinstance(task[key], str) else task[key].get("file")
                found |= set().union(*[modules_reached(role, os.path.basename(p)[:-4], seen)
                                       for p in _task_files(role, arg)] or [set()])
            elif short in ROLE_INCLUDES:
                found |= modules_reached(task[key]["name"].split(".")[-1], task[key].get("tasks_from", "main"), seen)
    return found


def _play_roles(play):
    for role in play.get("roles") or []:
        yield (role["role"] if isinstance(role, dict) else role).split(".")[-1], "main"
    for section in ("pre_tasks", "tasks", "post_tasks"):
        for task in _walk_tasks(play.get(section)):
            key, short = _action(task)
            if short in ROLE_INCLUDES:
                yield task[key]["name"].split(".")[-1], task[key].get("tasks_from", "main")


def _plays():
    for path in sorted(glob.glob(os.path.join(ROOT, "playbooks", "*.yml"))):
        for play in _load(os.path.relpath(path, ROOT)):
            if "hosts" in play:
                yield os.path.relpath(path, ROOT), play


def test_the_walk_sees_the_crypto_modules():
    # the walk itself: a broken walk would find nothing and pass every play below
    assert {"charon_enr", "charon_dkg", "charon_cluster_info", "dv_exit", "charon_backup"} <= crypto_modules()
    assert "charon_health" not in crypto_modules()
    assert "dv_exit" in modules_reached("charon", "exit")
    assert "charon_dkg" in modules_reached("charon", "enr")  # through stale_state.yml
    assert "charon_cluster_info" in modules_reached("monitoring")


@pytest.mark.parametrize("path, play", list(_plays()), ids=lambda v: v if isinstance(v, str) else v.get("name"))
def test_a_play_that_runs_crypto_modules_sets_the_interpreter_once(path, play):
    reached = set()
    for role, entry in _play_roles(play):
        reached |= modules_reached(role, entry)
    needs = sorted(reached & crypto_modules())
    interpreter = (play.get("vars") or {}).get("ansible_python_interpreter")
    if needs:
        assert interpreter == EXPRESSION, "%s: play %r runs %s but does not set ansible_python_interpreter: %s" % (
            path, play.get("name"), ", ".join(needs), EXPRESSION)
    else:
        assert interpreter is None, "%s: play %r runs no crypto module" % (path, play.get("name"))


def test_no_role_task_sets_the_interpreter_itself():
    offenders = []
    for path in sorted(glob.glob(os.path.join(ROOT, "roles", "*", "tasks", "*.yml"))):
        rel = os.path.relpath(path, ROOT)
        for task in _walk_tasks(_load(rel)):
            if "ansible_python_interpreter" in (task.get("vars") or {}):
                offenders.append("%s: %s" % (rel, task.get("name")))
    assert not offenders, "set ansible_python_interpreter in the play vars instead: %s" % offenders
