"""ansible-test sanity and ansible-lint (profile production) on the collection, run as tests so they
share the session with the Molecule lanes (the scenarios run beside them)."""

import os
import subprocess
import sys

from conftest import COLLECTIONS, COPY, ROOT, write_log

BIN = os.path.dirname(sys.executable)


def run(name, argv, cwd, env):
    proc = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=1800, check=False)
    write_log("%s.log" % name, proc.stdout)
    return proc


def test_ansible_test_sanity():
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ["PATH"])
    proc = run("sanity", [os.path.join(BIN, "ansible-test"), "sanity", "--venv", "--python", "%d.%d" % sys.version_info[:2],
                          "--color", "no"], COPY, env)
    assert proc.returncode == 0, proc.stdout[-8000:]


def test_ansible_lint_production():
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, PATH=BIN + os.pathsep + os.environ["PATH"])
    proc = run("ansible-lint", [os.path.join(BIN, "ansible-lint"), "--profile", "production"], ROOT, env)
    assert proc.returncode == 0, proc.stdout[-8000:]
