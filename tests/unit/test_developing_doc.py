# -*- coding: utf-8 -*-
"""docs/DEVELOPING.md's layer picture is generated from the imports in plugins/: this test
regenerates it and compares, so the picture cannot drift from the code.

Print the current picture (to paste between the markers) with:
    python tests/unit/test_developing_doc.py
"""

from __future__ import annotations

import ast
import os

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", ".."))
MU = "ansible_collections.dvops.charon.plugins.module_utils"
BEGIN = "<!-- BEGIN layers (generated: python tests/unit/test_developing_doc.py) -->"
END = "<!-- END layers -->"


def _imports(path, known):
    """module_utils names imported anywhere in ``path`` (top level or not), limited to ``known``."""
    with open(path) as f:
        tree = ast.parse(f.read())
    deps = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == MU:
                deps |= set(a.name for a in node.names)
            elif node.module.startswith(MU + "."):
                deps.add(node.module.rsplit(".", 1)[1])
    return sorted(deps & known)


def graph():
    """({module_util: [module_utils it imports]}, {plugin: [module_utils it imports]})."""
    mu_dir = os.path.join(ROOT, "plugins", "module_utils")
    names = set(f[:-3] for f in os.listdir(mu_dir) if f.startswith("_") and f.endswith(".py") and f != "__init__.py")
    utils = dict((n, _imports(os.path.join(mu_dir, n + ".py"), names)) for n in names)
    plugins = {}
    for kind in ("modules", "action", "filter"):
        d = os.path.join(ROOT, "plugins", kind)
        for f in sorted(os.listdir(d)):
            if f.endswith(".py") and not f.startswith("_"):
                plugins["%s/%s" % (kind, f[:-3])] = _imports(os.path.join(d, f), names)
    return utils, plugins


def layers(utils):
    """{module_util: layer}: 0 imports no other module_util, n stands on at least one of layer n-1."""
    memo = {}

    def depth(name, path=()):
        assert name not in path, "import cycle: %s" % " -> ".join(path + (name,))
        if name not in memo:
            memo[name] = 1 + max([depth(d, path + (name,)) for d in utils[name]] or [-1])
        return memo[name]
    return dict((n, depth(n)) for n in utils)


def render():
    utils, plugins = graph()
    layer = layers(utils)
    lines = ["layer  module_util     stands on"]
    for n in sorted(utils, key=lambda n: (-layer[n], n)):
        lines.append("%-6d %-15s %s" % (layer[n], n, " ".join(utils[n]) or "-"))
    lines.append("")
    lines.append("plugin                      uses")
    for p in sorted(plugins):
        lines.append("%-27s %s" % (p, " ".join(plugins[p]) or "-"))
    return "\n".join(["```text"] + lines + ["```"])


def _documented():
    with open(os.path.join(ROOT, "docs", "DEVELOPING.md")) as f:
        text = f.read()
    assert BEGIN in text and END in text, "docs/DEVELOPING.md lost its layer markers"
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip()


def test_layer_picture_matches_the_imports():
    expected = render()
    assert _documented() == expected, "docs/DEVELOPING.md is out of date; the current picture is:\n" + expected


def test_module_utils_graph_is_acyclic_and_layered():
    utils, plugins = graph()
    layer = layers(utils)  # asserts on a cycle
    for name, deps in utils.items():
        assert all(layer[d] < layer[name] for d in deps)
    assert layer["_deps"] == 0 and layer["_files"] == 0
    assert all(set(deps) <= set(utils) for deps in plugins.values())


if __name__ == "__main__":
    print(BEGIN)
    print(render())
    print(END)
