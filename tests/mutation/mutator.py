# -*- coding: utf-8 -*-
"""A small deterministic AST mutator: one mutant = one text replacement in the original source.

Mutants are found on the AST but applied as a replacement of the node's exact source span
(byte offsets from ``lineno``/``col_offset``), so every other line keeps its number and a
traceback in a mutant run points at the real file.  The same source always gives the same
mutants in the same order.

Operators (``op`` of a mutant):
  if-false      an ``if``/``elif``/``while`` test replaced by ``False``: the check never fires
  cmp           a comparison operator swapped (== !=, < <=, > >=, in / not in, is / is not)
  boolop-drop   one operand of an ``and``/``or`` dropped
  raise-drop    a ``raise`` replaced by ``pass``
  call-drop     a call statement (``report.record(...)``, ``os.fsync(fd)``...) replaced by ``pass``
  return-early  ``return`` (or ``return True`` for a check returning a bool) as the first statement
  const         a bool flipped, an int constant compared against shifted by one
  concat-drop   one term of a ``a + b + c`` byte concatenation dropped (domain separation, AAD, HKDF info)
  call-replace  a call replaced by a constant (random batch weights -> 1)
  return-const  a helper's return value replaced (``_nonce`` -> a fixed nonce, ``_aad`` -> ``b""``)

Scope: a target lists the functions (``Class.method`` or ``function``) to mutate; ``refusals``
mode (for the Ansible modules) mutates only the refusal paths: ``raise`` statements, ``fail_json``
calls and the ``if`` tests guarding them.
"""

from __future__ import annotations

import ast
import hashlib

CMP_SWAP = {
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq,
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
    ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
}

# Calls replaced by a constant: the crypto "looks right, is not" mutants.
CALL_REPLACE = {
    "_rand128": "1",                       # batch verification without random weights
    "secrets.randbits": "0",               # idem (``randbits(64) | 1`` becomes 1)
}
# Return values of helpers shared by both ends (encrypt and decrypt), replaced where they are
# defined so both ends agree and only a test of the binding itself can notice.
RETURN_REPLACE = {
    "_nonce": "bytes(12)",                 # constant GCM nonce
    "_aad": 'b""',                         # empty AAD
}


class Mutant(object):
    __slots__ = ("path", "func", "line", "end_line", "op", "before", "after", "start", "end", "index")

    def __init__(self, path, func, line, op, before, after, start, end, end_line=None):
        self.path, self.func, self.line, self.op = path, func, line, op
        self.end_line = line if end_line is None else end_line
        self.before, self.after, self.start, self.end = before, after, start, end
        self.index = 0

    @property
    def ident(self):
        """Stable across edits elsewhere in the file: no line number, an occurrence index instead."""
        return "%s::%s::%s::%s -> %s#%d" % (self.path, self.func, self.op, _short(self.before), _short(self.after),
                                            self.index)

    def describe(self):
        return "%s:%d %s [%s] %s -> %s" % (self.path, self.line, self.func, self.op,
                                           _short(self.before, 70), _short(self.after, 70))

    def apply(self, source_bytes):
        return source_bytes[:self.start] + self.after.encode("utf-8") + source_bytes[self.end:]


def _short(text, n=60):
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n - 3] + "..."


class _Offsets(object):
    def __init__(self, source_bytes):
        self.src = source_bytes
        self.starts = [0]
        for i, b in enumerate(source_bytes):
            if b == 0x0A:
                self.starts.append(i + 1)

    def span(self, node):
        start = self.starts[node.lineno - 1] + node.col_offset
        end = self.starts[node.end_lineno - 1] + node.end_col_offset
        return start, end

    def text(self, node):
        s, e = self.span(node)
        return self.src[s:e].decode("utf-8")


def _dotted(func):
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        inner = _dotted(func.value)
        return inner + "." + func.attr if inner else func.attr
    return ""


def _is_refusal(stmt):
    """A statement that refuses: ``raise``, or a call of ``fail_json``."""
    if isinstance(stmt, ast.Raise):
        return True
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        return _dotted(stmt.value.func).endswith("fail_json")
    return False


def _guards_refusal(node):
    return any(_is_refusal(s) for s in node.body)


def _returns_bool_only(func):
    values = [n.value for n in ast.walk(func) if isinstance(n, ast.Return)]

    def boolean(v):
        if isinstance(v, (ast.Compare, ast.BoolOp)):
            return True
        if isinstance(v, ast.Call):
            return _dotted(v.func) in ("bool", "_is_identity")
        return isinstance(v, ast.Constant) and isinstance(v.value, bool)
    return bool(values) and all(v is not None and boolean(v) for v in values)


def _has_value_return(func):
    for n in ast.walk(func):
        if isinstance(n, ast.Return) and n.value is not None:
            return True
    return False


def _concat_terms(node):
    """Flatten ``a + b + c`` into [a, b, c]."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _concat_terms(node.left) + _concat_terms(node.right)
    return [node]


def _looks_bytes(term):
    text = ast.unparse(term)
    return ("to_bytes" in text or "LABEL" in text or "hash" in text or "_pub" in text or "bytes(" in text
            or (isinstance(term, ast.Constant) and isinstance(term.value, bytes)))


class _Collector(object):
    def __init__(self, path, source_bytes, functions=None, refusals=False):
        self.path = path
        self.off = _Offsets(source_bytes)
        self.functions = set(functions or [])
        self.refusals = refusals
        self.out = []

    def add(self, func, node, op, after, span_node=None):
        span_node = span_node or node
        start, end = self.off.span(span_node)
        before = self.off.text(span_node)
        if before == after:
            return
        self.out.append(Mutant(self.path, func, span_node.lineno, op, before, after, start, end, span_node.end_lineno))

    # -- walking ---------------------------------------------------------------------------------
    def run(self, tree):
        for name, func in self._scoped(tree):
            if self.refusals:
                self._refusal_function(name, func)
            else:
                self._function(name, func)
        self.out.sort(key=lambda m: (m.start, m.end, m.op, m.after))
        seen = {}
        for m in self.out:
            key = (m.path, m.func, m.op, _short(m.before), _short(m.after))
            m.index = seen.get(key, 0)
            seen[key] = m.index + 1
        return self.out

    def _scoped(self, tree):
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if self.refusals or node.name in self.functions:
                    yield node.name, node
            elif isinstance(node, ast.ClassDef):
                for sub in node.body:
                    if isinstance(sub, ast.FunctionDef):
                        qual = "%s.%s" % (node.name, sub.name)
                        if self.refusals or qual in self.functions:
                            yield qual, sub

    def _refusal_function(self, name, func):
        for node in ast.walk(func):
            if isinstance(node, (ast.If, ast.While)) and _guards_refusal(node):
                self.add(name, node.test, "if-false", "False")
                self._compare_ops(name, node.test)
                self._boolop(name, node.test)
            if isinstance(node, ast.Raise):
                self.add(name, node, "raise-drop", "pass")
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and \
                    _dotted(node.value.func).endswith("fail_json"):
                self.add(name, node, "call-drop", "pass")

    def _function(self, name, func):
        # return-early: the whole check skipped
        first = func.body[0]
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and len(func.body) > 1:
            first = func.body[1]   # keep the docstring
        if not _has_value_return(func):
            self._insert_before(name, first, "return")
        elif _returns_bool_only(func):
            self._insert_before(name, first, "return True")
        for node in ast.walk(func):
            if isinstance(node, (ast.If, ast.While)):
                self.add(name, node.test, "if-false", "False")
            elif isinstance(node, ast.Raise):
                self.add(name, node, "raise-drop", "pass")
            elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
                self.add(name, node, "call-drop", "pass")
            if isinstance(node, ast.Compare):
                self._compare_ops(name, node)
                self._compare_consts(name, node)
            elif isinstance(node, ast.BoolOp):
                self._boolop(name, node)
            elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
                self.add(name, node, "const", repr(not node.value))
            elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
                self._concat(name, node)
            elif isinstance(node, ast.Return) and node.value is not None and name in RETURN_REPLACE:
                self.add(name, node.value, "return-const", RETURN_REPLACE[name])
            elif isinstance(node, ast.Call):
                target = _dotted(node.func)
                if target in CALL_REPLACE:
                    self.add(name, node, "call-replace", CALL_REPLACE[target])

    def _insert_before(self, name, stmt, text):
        start, dummy = self.off.span(stmt)
        indent = " " * stmt.col_offset
        m = Mutant(self.path, name, stmt.lineno, "return-early", "", "%s\n%s" % (text, indent), start, start)
        m.before = "(start of %s)" % name
        self.out.append(m)

    def _compare_ops(self, name, node):
        for sub in ast.walk(node):
            if not isinstance(sub, ast.Compare):
                continue
            for k, cmp_op in enumerate(sub.ops):
                swap = CMP_SWAP.get(type(cmp_op))
                if swap is None:
                    continue
                new = ast.Compare(left=sub.left, ops=list(sub.ops), comparators=sub.comparators)
                new.ops[k] = swap()
                self.add(name, sub, "cmp", "(%s)" % ast.unparse(new))
            if self.refusals:
                break

    def _compare_consts(self, name, node):
        for k, comp in enumerate([node.left] + list(node.comparators)):
            if isinstance(comp, ast.Constant) and isinstance(comp.value, int) and not isinstance(comp.value, bool):
                self.add(name, comp, "const", repr(comp.value + 1))

    def _boolop(self, name, node):
        if not isinstance(node, ast.BoolOp):
            return
        for k in range(len(node.values)):
            rest = node.values[:k] + node.values[k + 1:]
            text = ast.unparse(rest[0]) if len(rest) == 1 else ast.unparse(ast.BoolOp(op=node.op, values=rest))
            self.add(name, node, "boolop-drop", "(%s)" % text)

    def _concat(self, name, node):
        # Only the outermost + of a chain, and only chains that build bytes (3+ terms).
        if getattr(node, "_dvops_inner", False):
            return
        terms = _concat_terms(node)
        for sub in ast.walk(node):
            if sub is not node and isinstance(sub, ast.BinOp):
                sub._dvops_inner = True
        if len(terms) < 3 or not any(_looks_bytes(t) for t in terms):
            return
        for k in range(len(terms)):
            rest = terms[:k] + terms[k + 1:]
            self.add(name, node, "concat-drop", "(%s)" % " + ".join(self.off.text(t) for t in rest))


def mutants(path, source_bytes, functions=None, refusals=False):
    """All mutants of ``source_bytes`` (the file at repo-relative ``path``) in scope."""
    tree = ast.parse(source_bytes, filename=path)
    found = _Collector(path, source_bytes, functions, refusals).run(tree)
    valid = []
    for m in found:
        try:
            ast.parse(m.apply(source_bytes))
        except SyntaxError:
            continue   # a replacement that does not fit its context (should not happen; never counted)
        valid.append(m)
    return valid


def digest(data):
    return hashlib.sha256(data).hexdigest()
