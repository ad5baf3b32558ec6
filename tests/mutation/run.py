# -*- coding: utf-8 -*-
"""Mutation run over the security-critical code (``make mutation``).

    python tests/mutation/run.py                  # everything in config.TARGETS
    python tests/mutation/run.py --only _dkg_crypto --only charon_dkg
    python tests/mutation/run.py --list           # the mutants, nothing run
    python tests/mutation/run.py --no-cache       # ignore cached results

For each target file: the mapped unit tests run once unmutated (they must pass; their time sets
the per-mutant timeout), then once per mutant with ``-x`` in a fresh interpreter that loads the
mutant through ``tests/mutation/plugin.py``.  A mutant is *killed* when the tests fail (or time
out), *survives* when they pass.  One mutant at a time (one core).

Results are cached in ``tests/mutation/cache/results.json`` keyed by sha256(mutated source) and
the sha256 of each mapped test file and shared fixture: a rerun only runs mutants whose code or
tests changed; a mutant killed before stays killed while the test files that killed it are still
mapped and unchanged (so adding a test file re-runs only the survivors).  Mutants listed in ``allowlist.EQUIVALENT`` (each with its reason) are not run and not
counted.  Output: score per file and overall, then every survivor as file:line and the mutation.
Exit status 0 when the overall score reaches ``--target`` (default 90 %), else 1.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import allowlist  # noqa: E402  pylint: disable=wrong-import-position
import known_bugs  # noqa: E402  pylint: disable=wrong-import-position
import config  # noqa: E402  pylint: disable=wrong-import-position
import mutator  # noqa: E402  pylint: disable=wrong-import-position

CACHE = os.path.join(HERE, "cache", "results.json")
PACKAGE = "ansible_collections.dvops.charon"


def _module_name(path):
    return PACKAGE + "." + path[:-3].replace("/", ".")


def _read(path):
    with open(os.path.join(ROOT, path), "rb") as f:
        return f.read()


def _tests_digest(tests):
    parts = []
    for path in list(tests) + config.SHARED_TEST_FILES:
        full = os.path.join(ROOT, path)
        parts.append(path.encode() + b"\0" + (_read(path) if os.path.exists(full) else b"(absent)"))
    return mutator.digest(b"\0\0".join(parts))


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([HERE, os.path.join(ROOT, ".ansible", "collections")]
                                        + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env.setdefault("ANSIBLE_CONFIG", os.path.join(ROOT, "ansible.cfg"))
    # Byte-code caches stay on: pytest's rewritten test modules are then compiled once, not per mutant
    # (the mutant itself is compiled in memory by plugin.py and never written).
    env.pop("DVOPS_MUTANT_MODULE", None)
    env.pop("DVOPS_MUTANT_SOURCE", None)
    return env


PYTEST_ARGS = ["-x", "-q", "-p", "no:cacheprovider", "--no-header", "-o", "addopts=", "-W",
               "ignore::DeprecationWarning"]


def _preload():
    """Import the heavy third-party libraries once in this process; every mutant run is a fork of it
    (no interpreter start, no library import per mutant).  Nothing of the collection is imported
    here, so each fork loads the collection fresh, with the mutant in place."""
    import pytest  # noqa: F401  pylint: disable=unused-import,import-outside-toplevel
    for name in ("py_arkworks_bls12381", "coincurve", "cryptography.hazmat.primitives.ciphers.aead",
                 "cryptography.hazmat.primitives.kdf.hkdf", "Crypto.Cipher.AES", "py_ecc.bls",
                 "ansible.module_utils.basic", "ansible.module_utils.urls"):
        try:
            __import__(name)
        except ImportError:
            pass


def _child(tests, env):
    """In the forked child: mutant in place, pytest run, exit with its status (never returns)."""
    code = 3
    try:
        os.setsid()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        os.chdir(ROOT)
        os.environ.clear()
        os.environ.update(env)
        for p in reversed(env["PYTHONPATH"].split(os.pathsep)):
            sys.path.insert(0, p)
        import pytest  # pylint: disable=import-outside-toplevel
        # Importing the plugin installs the mutant.
        import plugin  # noqa: F401  pylint: disable=unused-import,import-outside-toplevel
        code = int(pytest.main(PYTEST_ARGS + tests, plugins=[plugin]))
    except BaseException:  # pylint: disable=broad-except
        code = 4           # the mutant broke the import: killed
    finally:
        os._exit(code)     # pylint: disable=protected-access


def _pytest(tests, env, timeout):
    """(status, seconds): status 'pass', 'fail', 'timeout' or 'error' (nothing collected)."""
    start = time.time()
    pid = os.fork()
    if pid == 0:
        _child(tests, env)
    deadline = None if timeout is None else start + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if deadline is not None and time.time() > deadline:
            try:
                os.killpg(pid, signal.SIGKILL)   # the session the child made: pytest and its workers
            except OSError:
                pass
            os.waitpid(pid, 0)
            return "timeout", time.time() - start
        time.sleep(0.05)
    rc = os.waitstatus_to_exitcode(status)
    secs = time.time() - start
    if rc == 0:
        return "pass", secs
    if rc == 5:
        return "error", secs
    return "fail", secs


def _file_digests(tests):
    """{path: sha256} of the mapped test files and the shared test code."""
    return dict((p, mutator.digest(_read(p))) for p in list(tests) + config.SHARED_TEST_FILES
                if os.path.exists(os.path.join(ROOT, p)))


def _cached(cache, mutated_digest, files):
    """The cached result of this mutated source under these test files, or None.

    Exact match first.  A mutant once *killed* by a set of test files stays killed when every one
    of those files is still mapped, unchanged: the failing test still runs (tests only get added),
    so adding a test file only re-runs the survivors."""
    entries = cache.get("m:" + mutated_digest) or []
    for e in entries:
        if e["files"] == files:
            return e
    for e in entries:
        if e["status"] != "pass" and all(files.get(p) == d for p, d in e["files"].items()):
            return e
    return None


def _store(cache, mutated_digest, files, status, secs):
    entry = {"status": status, "seconds": round(secs, 2), "files": files}
    entries = [e for e in cache.get("m:" + mutated_digest) or [] if e["files"] != files]
    cache["m:" + mutated_digest] = entries + [entry]
    return entry


def _trace(target, tests, env, cache, key):
    """Per-test line coverage of the target file in the unmutated run (cached), or None."""
    if key in cache:
        return cache[key]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        out = f.name
    try:
        status, secs = _pytest(tests, dict(env, DVOPS_TRACE_FILE=os.path.realpath(os.path.join(ROOT, target["path"])),
                                           DVOPS_TRACE_OUT=out), None)
        if status != "pass":
            return None
        with open(out) as f:
            data = json.load(f)
    finally:
        os.unlink(out)
    by_line = {}
    for ctx, lines in data["lines"].items():
        for line in lines:
            by_line.setdefault(str(line), []).append(ctx)
    cache[key] = {"items": data["items"], "by_line": by_line, "seconds": round(secs, 2)}
    return cache[key]


def _selected(trace, mutant, tests):
    """The tests that execute a line of the mutant, in suite order; all tests when none does (the
    trace does not see code run in worker processes, so an unseen line is not proof of dead code)."""
    if trace is None:
        return tests
    contexts = set()
    for line in range(mutant.line, mutant.end_line + 1):
        contexts.update(trace["by_line"].get(str(line), []))
    if not contexts or "collect" in contexts:   # unseen, or run while the test files are imported
        return tests
    files = set(c[len("setup:"):] for c in contexts if c.startswith("setup:"))
    calls = set(c[len("call:"):] for c in contexts if c.startswith("call:"))
    chosen = [n for n in trace["items"] if n in calls or n.split("::")[0] in files]
    return chosen or tests


def _load_cache(use):
    if not use or not os.path.exists(CACHE):  # noqa
        return {}
    try:
        with open(CACHE) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def _save_cache(cache):
    os.makedirs(os.path.dirname(CACHE), exist_ok=True)
    tmp = CACHE + ".tmp"
    with open(tmp, "w") as f:
        json.dump(cache, f, indent=0, sort_keys=True)
    os.replace(tmp, CACHE)   # one runner at a time per cache file (see --cache)


def _targets(only):
    out = []
    for t in config.TARGETS:
        if only and not any(o in t["path"] for o in only):
            continue
        out.append(t)
    return out


def _mutants_of(target):
    return mutator.mutants(target["path"], _read(target["path"]), target.get("functions"),
                           bool(target.get("refusals")))


def _run_known_bugs(targets, cache, env):
    """Each audit bug of ``known_bugs.BUGS`` in the selected files: (caught, [descriptions missed])."""
    by_path = dict((t["path"], t) for t in targets)
    caught, missed = 0, []
    for desc, path, old, new in known_bugs.BUGS:
        if path not in by_path:
            continue
        source = _read(path)
        count = source.count(old.encode())
        if count != 1:
            missed.append("%s (its patch matches %d places in %s: update known_bugs.py)" % (desc, count, path))
            continue
        tests = [p for p in by_path[path]["tests"] if os.path.exists(os.path.join(ROOT, p))]
        mutated = source.replace(old.encode(), new.encode())
        key = "known:" + mutator.digest(mutated) + ":" + _tests_digest(tests)
        res = cache.get(key)
        if res is None:
            with tempfile.NamedTemporaryFile("wb", suffix=".py", delete=False) as f:
                f.write(mutated)
                src_path = f.name
            try:
                status, secs = _pytest(tests, dict(env, DVOPS_MUTANT_MODULE=_module_name(path),
                                                   DVOPS_MUTANT_SOURCE=src_path), None)
            finally:
                os.unlink(src_path)
            res = cache[key] = {"status": status, "seconds": round(secs, 2)}
            _save_cache(cache)
        if res["status"] == "pass":
            missed.append(desc)
        else:
            caught += 1
        print("   %-8s %s" % ("caught" if res["status"] != "pass" else "MISSED", desc), flush=True)
    return caught, missed


def main(argv=None):
    global CACHE  # pylint: disable=global-statement
    ap = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    ap.add_argument("--only", action="append", default=[], help="substring of a target path (repeatable)")
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    ap.add_argument("--no-cache", action="store_true")
    ap.add_argument("--cache", help="results file (default tests/mutation/cache/results.json)")
    ap.add_argument("--target", type=float, default=90.0, help="required overall score in percent")
    ap.add_argument("--report", help="also write the results as JSON to this file")
    ap.add_argument("--skip-known", action="store_true", help="do not re-introduce the audit's known bugs first")
    ap.add_argument("--known-only", action="store_true", help="only the audit's known bugs, no mutants")
    ap.add_argument("--sample", type=int, default=1, metavar="K",
                    help="run only the uncached mutants whose id hashes to 0 mod K (a deterministic 1/K sample "
                         "when time is short); the others count as not run")
    ap.add_argument("--cached-only", action="store_true",
                    help="run nothing: report from the cache, counting mutants without a result as not run")
    ap.add_argument("--without-mutant-tests", action="store_true",
                    help="leave out the *_mutants.py test files (what the suite caught before them)")
    args = ap.parse_args(argv)

    targets = _targets(args.only)
    if args.without_mutant_tests:
        targets = [dict(t, tests=[p for p in t["tests"] if not p.endswith("_mutants.py")]) for t in targets]
    if args.list:
        total = 0
        for t in targets:
            ms = _mutants_of(t)
            total += len(ms)
            for m in ms:
                print(("EXCLUDED " if m.ident in allowlist.EQUIVALENT else "") + m.describe() + "\n    id: " + m.ident)
        print("%d mutants" % total)
        return 0

    CACHE = os.path.abspath(args.cache) if args.cache else CACHE
    cache = _load_cache(not args.no_cache)
    env = _env()
    _preload()
    started = time.time()
    rows, survivors, timeouts, unused_allow = [], [], 0, set(allowlist.EQUIVALENT)
    results = []
    known_caught, known_missed = 0, []
    if not args.skip_known:
        print("== the audit's known bugs (issue 10), each must make the tests fail", flush=True)
        known_caught, known_missed = _run_known_bugs(targets, cache, env)
    if args.known_only:
        print("\nKnown bugs caught: %d/%d" % (known_caught, known_caught + len(known_missed)))
        for desc in known_missed:
            print("  MISSED " + desc)
        return 0 if not known_missed else 1
    for t in targets:
        tests = [p for p in t["tests"] if os.path.exists(os.path.join(ROOT, p))]
        source = _read(t["path"])
        tdig = _tests_digest(tests)
        files = _file_digests(tests)
        ms = _mutants_of(t)
        base_key = "baseline:" + mutator.digest(source) + ":" + tdig
        base = cache.get(base_key)
        if base is None and args.cached_only:
            base = {"seconds": 0.0}
        if base is None:
            status, secs = _pytest(tests, env, None)
            if status != "pass":
                print("%s: the unmutated tests do not pass (%s); run: pytest %s" % (t["path"], status, " ".join(tests)),
                      file=sys.stderr)
                return 2
            base = cache[base_key] = {"seconds": round(secs, 2)}
            _save_cache(cache)
        timeout = max(config.MIN_TIMEOUT, config.TIMEOUT_FACTOR * base["seconds"])
        trace = None
        if t.get("select", True) and not args.cached_only:
            trace = _trace(t, tests, env, cache, "trace:" + mutator.digest(source) + ":" + tdig)
            _save_cache(cache)
        killed = survived = excluded = ran = not_run = 0
        print("== %s: %d mutants, tests %s (unmutated %.1fs)" % (t["path"], len(ms), " ".join(
            os.path.basename(p) for p in tests), base["seconds"]), flush=True)
        for m in ms:
            if m.ident in allowlist.EQUIVALENT:
                excluded += 1
                unused_allow.discard(m.ident)
                continue
            mutated = m.apply(source)
            mdig = mutator.digest(mutated)
            res = _cached(cache, mdig, files)
            if res is None and (args.cached_only or (
                    args.sample > 1 and int(mutator.digest(m.ident.encode())[:8], 16) % args.sample)):
                not_run += 1
                continue
            if res is None:
                with tempfile.NamedTemporaryFile("wb", suffix=".py", delete=False) as f:
                    f.write(mutated)
                    src_path = f.name
                menv = dict(env, DVOPS_MUTANT_MODULE=_module_name(t["path"]), DVOPS_MUTANT_SOURCE=src_path)
                try:
                    status, secs = _pytest(_selected(trace, m, tests), menv, timeout)
                finally:
                    os.unlink(src_path)
                if status == "error":
                    print("%s: pytest collected nothing" % m.describe(), file=sys.stderr)
                    return 2
                res = _store(cache, mdig, files, status, secs)
                _save_cache(cache)
                ran += 1
            status = res["status"]
            if status == "pass":
                survived += 1
                survivors.append(m)
            else:
                killed += 1
                timeouts += status == "timeout"
            results.append({"mutant": m.describe(), "id": m.ident, "status": status})
        total = killed + survived
        rows.append((t["path"], total, killed, survived, excluded, ran, not_run))
        print("   killed %d/%d (%.1f%%), %d run now, %d excluded as equivalent%s" % (
            killed, total, 100.0 * killed / total if total else 100.0, ran, excluded,
            ", %d NOT RUN (no cached result)" % not_run if not_run else ""), flush=True)

    print("\nScore per file")
    print("%-45s %8s %7s %9s %9s %8s" % ("file", "mutants", "killed", "survived", "score", "not run"))
    all_total = all_killed = all_not_run = 0
    for path, total, killed, survived, excluded, dummy, not_run in rows:
        all_total += total
        all_killed += killed
        all_not_run += not_run
        print("%-45s %8d %7d %9d %8.1f%% %8d" % (
            path, total, killed, survived, 100.0 * killed / total if total else 100, not_run))
    score = 100.0 * all_killed / all_total if all_total else 100.0
    print("%-45s %8d %7d %9d %8.1f%% %8d" % (
        "TOTAL", all_total, all_killed, all_total - all_killed, score, all_not_run))
    print("(%d killed by timeout; %d excluded as equivalent; %.0fs)" % (
        timeouts, sum(r[4] for r in rows), time.time() - started))
    if survivors:
        print("\nSurvivors (file:line function [operator] original -> mutation)")
        for m in survivors:
            print("  " + m.describe())
    if not args.only and unused_allow:
        print("\nallowlist entries that match no mutant any more (remove them):")
        for ident in sorted(unused_allow):
            print("  " + ident)
    if not args.skip_known:
        print("\nKnown bugs caught: %d/%d" % (known_caught, known_caught + len(known_missed)))
        for desc in known_missed:
            print("  MISSED " + desc)
    if args.report:
        with open(args.report, "w") as f:
            json.dump({"score": score, "rows": rows, "results": results, "known_missed": known_missed}, f, indent=1)
    return 0 if score >= args.target and not known_missed and not all_not_run else 1


if __name__ == "__main__":
    sys.exit(main())
