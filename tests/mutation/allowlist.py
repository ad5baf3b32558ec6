# -*- coding: utf-8 -*-
"""Equivalent mutants: they cannot change behaviour, so no test can kill them.

Each entry is a mutant id as ``run.py --list`` prints it (file::function::operator::before ->
after#occurrence; no line number, so edits elsewhere do not invalidate it) with the reason it
is equivalent.  Keep this list short and honest: a mutant that *could* change behaviour
belongs in a test, not here.
"""

EQUIVALENT = {
}
