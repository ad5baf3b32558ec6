# -*- coding: utf-8 -*-
"""Shared helpers for the unit tests.

``run_module`` is the one in-process module runner: it runs ``module.main()`` with the given
arguments, expects the SystemExit that ``exit_json``/``fail_json`` end with, and returns the JSON
result together with the raw stdout (tests that check a secret never reaches the output read the
raw text). Test files import it by its collection path, e.g.
``from ansible_collections.dvops.charon.tests.unit.conftest import run_module``, and keep their own
thin ``run`` wrapper for the defaults of their module.
"""

from __future__ import annotations

import json
import signal

import pytest

from ansible.module_utils import _internal as _ansible_internal
from ansible.module_utils.testing import patch_module_args


class Hung(BaseException):
    """Raised by the alarm: not an OSError (nor an Exception), so no module handler can swallow it."""


def run_module(module, args, capsys, check=False, diff=False, timeout=None, label=None):
    """(result, raw stdout) of one in-process run of ``module.main()``.

    ``check``/``diff`` set Ansible's check and diff mode; ``timeout`` (seconds) ends a run that hangs
    with ``Hung`` (its message names ``label``, by default the module) instead of blocking the suite.
    """
    args = dict(args)
    if check:
        args["_ansible_check_mode"] = True
    if diff:
        args["_ansible_diff"] = True
    old = None
    if timeout:
        def alarm(signum, frame):
            raise Hung("%s hung" % (label or module.__name__))
        old = signal.signal(signal.SIGALRM, alarm)
        signal.alarm(timeout)
    # A module runs on a host: once a controller-side test (an action plugin, a playbook run) has set
    # is_controller in this process, module.warn() would go to the controller's display, not the result.
    was_controller, _ansible_internal.is_controller = _ansible_internal.is_controller, False
    try:
        with patch_module_args(args):
            with pytest.raises(SystemExit):
                module.main()
    finally:
        _ansible_internal.is_controller = was_controller
        if timeout:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, old)
    out = capsys.readouterr().out
    return json.loads(out), out
