"""Offline stand-in for get-pip.py, cached where ansible-test looks for it.

ansible-test bootstraps pip in its virtual environments by downloading get-pip.py from a site
this test bed cannot reach; when $HOME/.ansible/test/cache/get_pip_<version>.py exists it runs
that instead.  This one uses the interpreter's own ensurepip and then pip-installs the requested
packages from PyPI (reachable), ignoring the get-pip-only options.
"""
import subprocess
import sys

GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}


def main():
    args = [a for a in sys.argv[1:] if a not in GET_PIP_ONLY]
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"])
    if args:
        subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)


if __name__ == "__main__":
    main()
