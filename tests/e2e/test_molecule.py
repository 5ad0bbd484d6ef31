"""Molecule scenarios under molecule/ on real systemd hosts (root podman): the full `molecule test`
sequence of each (converge, idempotence, side effects, verify).

The scenarios run in lanes beside the rest of the suite (tests/lanes.py, started by conftest.py when
the session starts): lane 1 at once, the second when the foreground reaches these tests, longest
first. ``RTCSTACK_MOLECULE_LANES`` sets the number of lanes (1 runs them one after another).
``RTCSTACK_ROLE_TESTS=0`` skips them. Scenarios whose name ends in ``_vm`` boot a qemu VM and are not
run here. Host-wide kernel keys the scenarios may change are read before and restored after."""

import os
import subprocess
import sys

import pytest
import yaml
from conftest import COLLECTIONS, LOGS, ROOT, assert_no_secrets
from lanes import Job, Lanes

SCENARIOS_DIR = os.path.join(ROOT, "molecule")
SCENARIOS = sorted(
    s for s in (os.listdir(SCENARIOS_DIR) if os.path.isdir(SCENARIOS_DIR) else [])
    if os.path.isfile(os.path.join(SCENARIOS_DIR, s, "molecule.yml")) and not s.endswith("_vm")
)
# Longest first (docs/benchmarks.md), so the last lane to finish has short work left.
LONGEST_FIRST = ("cluster", "load_test", "redis_sentinel", "coturn", "livekit_server", "livekit_workers",
                 "monitoring", "redis_cluster", "node_tuning", "livekit_proxy", "firewall", "redis_standalone", "preflight")
ORDERED = [s for s in LONGEST_FIRST if s in SCENARIOS] + [s for s in SCENARIOS if s not in LONGEST_FIRST]
# The Kubernetes tests (tests/e2e/test_kubernetes_*.py) run as one job of the lanes too: the kubelet
# changes host-wide keys while the cluster runs (vm.overcommit_memory, kernel.panic*), which the redis and
# node_tuning scenarios set or check, and the harness restores them when it stops.
KUBERNETES_JOB = "kubernetes"
# Every test_kubernetes_*.py (conftest.py moves exactly these out of the main session).
KUBERNETES_TESTS = tuple(sorted("tests/e2e/" + f for f in os.listdir(os.path.join(ROOT, "tests", "e2e"))
                                if f.startswith("test_kubernetes_") and f.endswith(".py")))
ORDERED.insert(ORDERED.index("coturn") if "coturn" in ORDERED else len(ORDERED), KUBERNETES_JOB)
# node_tuning checks that host-wide kernel keys stay as they were, and the redis role writes one
# (vm.overcommit_memory) from inside its containers: it runs with no other scenario beside it.
EXCLUSIVE = ("node_tuning", KUBERNETES_JOB)
# Host-wide keys a scenario can change from a privileged container: restored when the session ends.
HOST_KEYS = ("vm.overcommit_memory", "fs.file-max", "fs.nr_open")
ROLE_TESTS = os.environ.get("RTCSTACK_ROLE_TESTS", "ci")

pytestmark = pytest.mark.skipif(ROLE_TESTS == "0", reason="RTCSTACK_ROLE_TESTS=0: Molecule scenarios skipped")


def scenario_env():
    env = dict(os.environ, RTCSTACK_COLLECTIONS=COLLECTIONS, ANSIBLE_NOCOLOR="1", NO_COLOR="1", ANSIBLE_FORCE_COLOR="0",
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    return dict((k, v) for k, v in env.items() if not k.startswith("LIVEKIT_"))


def read_host_keys():
    out = subprocess.run(["sysctl", "-n"] + list(HOST_KEYS), capture_output=True, text=True, check=True).stdout
    return dict(zip(HOST_KEYS, out.split("\n")))


def restore_host_keys(before):
    now = read_host_keys()
    for key, value in before.items():
        if now.get(key) != value:
            subprocess.run(["sysctl", "-q", "-w", "%s=%s" % (key, value)], check=False)


def make_lanes(selected):
    """The lanes of the selected scenarios, longest first (conftest.py starts them when the session starts)."""
    env = scenario_env()
    jobs = [Job(s, ["molecule", "test", "-s", s], env, ROOT, os.path.join(LOGS, "molecule-%s.log" % s), timeout=3000,
                exclusive=s in EXCLUSIVE, cleanup=["molecule", "destroy", "-s", s])
            if s != KUBERNETES_JOB else kubernetes_job(env)
            for s in ORDERED if s in selected]
    prepare = ["bash", os.path.join(ROOT, "scripts", "testhosts.sh"), "prepare"]
    return Lanes(jobs, lanes=int(os.environ.get("RTCSTACK_MOLECULE_LANES", "2")),
                 before=lambda: subprocess.run(prepare, check=True, stdout=subprocess.DEVNULL))


def kubernetes_job(env):
    """pytest on the Kubernetes test files, alone in its lane (the cluster stops itself when its session ends)."""
    env = dict(env, RTCSTACK_ROLE_TESTS="0", RTCSTACK_KUBERNETES_TESTS="run")
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"] + list(KUBERNETES_TESTS)
    return Job(KUBERNETES_JOB, argv, env, ROOT, os.path.join(LOGS, "kubernetes-tests.log"), timeout=1800, exclusive=True)


@pytest.mark.parametrize("scenario", ORDERED)
def test_scenario(scenario, molecule_lanes):
    job = molecule_lanes.result(scenario)
    assert job.returncode == 0, "molecule test -s %s: %s\n%s" % (scenario, job.returncode, job.output[-8000:])
    assert_no_secrets(job.output, scenario_secrets(scenario), "molecule scenario %s" % scenario)


SECRET_WORDS = ("password", "secret", "api_keys", "auth_pass")


def scenario_secrets(scenario):
    """Secret values the scenario declares: values (>= 16 chars) under keys naming a password or secret."""
    found = set()

    def walk(node, secret=False):
        if isinstance(node, dict):
            for key, value in node.items():
                is_secret = secret or any(w in str(key).lower() for w in SECRET_WORDS)
                if is_secret and isinstance(value, dict):
                    found.update(str(v) for v in value.values() if isinstance(v, str))
                walk(value, is_secret)
        elif isinstance(node, list):
            for item in node:
                walk(item, secret)
        elif secret and isinstance(node, str) and len(node) >= 16 and "{{" not in node:
            found.add(node)

    if scenario == KUBERNETES_JOB:
        return []  # the Kubernetes tests check their own secrets (fresh ones per run)
    for folder, _dirs, files in os.walk(os.path.join(SCENARIOS_DIR, scenario)):
        for name in files:
            if name.endswith((".yml", ".yaml")):
                with open(os.path.join(folder, name)) as f:
                    for doc in yaml.safe_load_all(f):
                        walk(doc)
    return sorted(s for s in found if len(s) >= 16 and "{{" not in s)
