# -*- coding: utf-8 -*-
# Copyright: dvops.charon contributors
# Apache License 2.0 (see LICENSE)
"""Shared note of the modules that need crypto libraries on the managed host.

Use with ``extends_documentation_fragment: [dvops.charon.python_deps]``; the module's description
names the packages it needs.
"""

from __future__ import annotations


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
options: {}
notes:
  - The Python packages the module needs (named in its description) are installed on the managed host by the
    C(dvops.charon.python_deps) role, in a venv; run the module with that venv's interpreter
    (C(ansible_python_interpreter) set to C(python_deps_python)). A missing package makes the module fail
    with its name and this hint, before anything is written.
'''
