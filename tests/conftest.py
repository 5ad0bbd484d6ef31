"""Shared fixtures: the collection on sys.path, and a real livekit-server + redis-server on loopback.

The server is started once per test session by scripts/local_livekit.py with a fresh key pair and
stopped at the end. Nothing in the suite talks to a fake.
"""

import json
import os
import signal
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = subprocess.check_output([os.path.join(ROOT, "scripts", "sync-collection.sh")], text=True).strip()
COPY = os.path.join(COLLECTIONS, "ansible_collections", "rtcstack", "livekit")
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)

TEST_PORT = int(os.environ.get("RTCSTACK_TEST_PORT", "17880"))
TEST_REDIS_PORT = int(os.environ.get("RTCSTACK_TEST_REDIS_PORT", "16380"))


class Server(dict):
    """Connection facts of the test server; ``secrets`` lists what must never appear in output."""

    @property
    def secrets(self):
        return [self["api_secret"]]


@pytest.fixture(scope="session")
def livekit(tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp("livekit"))
    script = os.path.join(ROOT, "scripts", "local_livekit.py")
    out = subprocess.check_output([sys.executable, script, "start", "--dir", workdir, "--port", str(TEST_PORT),
                                   "--redis-port", str(TEST_REDIS_PORT)], text=True)
    info = Server(json.loads(out.strip().splitlines()[-1]))
    from ansible_collections.rtcstack.livekit.plugins.module_utils._secrets import read_key_file
    keys = read_key_file(info["key_file"])
    info.update(api_key=info["api_key"], api_secret=keys.secret(info["api_key"]))
    yield info
    subprocess.call([sys.executable, script, "stop", "--dir", workdir])


@pytest.fixture(scope="session")
def kubernetes_cluster(tmp_path_factory):
    """A real single-node Kubernetes (tests/e2e/kubernetes_cluster.py), started only when a test asks."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
    from kubernetes_cluster import running_cluster
    with running_cluster(str(tmp_path_factory.mktemp("kubernetes"))) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def openstack_cloud(request, tmp_path_factory):
    """A real OpenStack control plane (tests/e2e/openstack_cloud.py), started only when a test asks.

    `make test` (scripts/test.sh) builds it and sets RTCSTACK_OPENSTACK_TESTS=run; a plain pytest runs it
    when a test file that uses it is named on the command line, and skips it otherwise."""
    named = any("openstack" in os.path.basename(a.split("::")[0]) for a in request.config.args)
    if os.environ.get("RTCSTACK_OPENSTACK_TESTS") != "run" and not named:
        pytest.skip("OpenStack tests are opt-in: RTCSTACK_OPENSTACK_TESTS=run or name the test file")
    sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
    from openstack_cloud import built, running_cloud
    if not built():
        message = "the OpenStack harness is not built: run scripts/build-openstack.sh"
        if os.environ.get("RTCSTACK_OPENSTACK_TESTS") == "run":
            pytest.fail(message)
        pytest.skip(message)
    with running_cloud(str(tmp_path_factory.mktemp("openstack"))) as cloud:
        yield cloud


LOGS = os.path.join(ROOT, "tests", "output", "logs")


def write_log(name, text):
    """tests/output/logs/NAME, mode 0600 (the logs of a suite that handles secrets)."""
    os.makedirs(LOGS, exist_ok=True)
    fd = os.open(os.path.join(LOGS, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a file left by an older run keeps its mode through O_TRUNC
    with os.fdopen(fd, "w") as f:
        f.write(text)


def assert_no_secrets(text, secrets, where):
    for secret in secrets:
        assert secret not in text, "a secret appeared in %s" % where


# --- Molecule scenarios in lanes beside the rest of the suite (tests/e2e/test_molecule.py) ---------
_LANES = {}


def _interrupt(signum, frame):
    raise KeyboardInterrupt("signal %d" % signum)


def pytest_configure(config):
    """SIGTERM (and SIGINT, which a shell ignores in a background job) end the session the way ^C
    does, so the fixtures and the lanes stop what they started (servers, scenarios) by PID."""
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)


def pytest_collection_modifyitems(config, items):
    """The scenarios' tests last: they only wait for the lanes, so everything else runs beside them.

    When the lanes run the Kubernetes job, the Kubernetes test files run there (alone), not here.
    """
    items.sort(key=lambda item: getattr(item, "originalname", "") == "test_scenario")
    in_lanes = any(getattr(i, "originalname", "") == "test_scenario" and i.callspec.params["scenario"] == "kubernetes"
                   and i.module.ROLE_TESTS != "0" for i in items)
    if in_lanes and os.environ.get("RTCSTACK_KUBERNETES_TESTS") != "run":
        moved = [i for i in items if os.path.basename(str(i.fspath)).startswith("test_kubernetes_")]
        if moved:
            config.hook.pytest_deselected(items=moved)
            items[:] = [i for i in items if i not in moved]


def pytest_collection_finish(session):
    """Start the selected scenarios in the background as soon as the session knows them."""
    items = [i for i in session.items if getattr(i, "originalname", "") == "test_scenario"]
    module = items[0].module if items else None
    if module is None or session.config.option.collectonly or module.ROLE_TESTS == "0":
        return
    _LANES["module"] = module
    _LANES["host_keys"] = module.read_host_keys()
    lanes = module.make_lanes([i.callspec.params["scenario"] for i in items])
    _LANES["lanes"] = lanes
    lanes.start()


def pytest_sessionfinish(session):
    lanes = _LANES.get("lanes")
    if lanes is not None:
        lanes.stop()
        _LANES["module"].restore_host_keys(_LANES["host_keys"])


def pytest_terminal_summary(terminalreporter):
    """How long each scenario ran in its lane (docs/benchmarks.md quotes these)."""
    lanes = _LANES.get("lanes")
    if lanes is None:
        return
    terminalreporter.section("Molecule scenarios in %d lanes" % lanes.lanes)
    for job in lanes.jobs.values():
        took = "%.1f min" % (job.seconds / 60) if job.seconds is not None else "-"
        terminalreporter.write_line("%-18s %-10s %s" % (job.name, took, job.returncode))


@pytest.fixture(scope="session")
def molecule_lanes():
    return _LANES["lanes"]
