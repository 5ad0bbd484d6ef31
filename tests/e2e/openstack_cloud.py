"""A real OpenStack control plane for the tests (scripts/local_openstack.py), and what it must undo.

tests/conftest.py's ``openstack_cloud`` fixture starts it once per session, only when a test asks
for it (and skips when scripts/build-openstack.sh has not built it), and stops it at the end. The
check after a stop reads the host itself: the processes started and the loopback ports.
"""

import contextlib
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "scripts", "local_openstack.py")
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import local_openstack  # noqa: E402 (scripts/ is not a package)


def built():
    """The harness' venv and Debian packages are there (scripts/build-openstack.sh ran)."""
    try:
        local_openstack.binaries()
    except SystemExit:
        return False
    return os.path.exists(os.path.join(local_openstack.venv_dir(), ".rtcstack-build.sha256"))


class Cloud:
    def __init__(self, workdir):
        self.dir = workdir
        self.info = None
        self.output = ""
        self.pids = {}
        self.started = {}

    def start(self):
        out = subprocess.run([sys.executable, SCRIPT, "start", "--dir", self.dir], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, timeout=600, check=False)
        if out.returncode != 0:
            raise RuntimeError("local_openstack.py start failed:\n%s" % out.stdout[-4000:])
        self.output = out.stdout
        self.info = json.loads(out.stdout.strip().splitlines()[-1])
        with open(os.path.join(self.dir, "state.json")) as f:
            state = json.load(f)
        self.pids, self.started = state["pids"], state["started"]
        return self.info

    def stop(self):
        """Stop the control plane and return what it left running."""
        if self.info is None:
            return []
        subprocess.run([sys.executable, SCRIPT, "stop", "--dir", self.dir], timeout=300, check=False)
        ports = self.info["ports"]
        self.info = None
        problems = ["%s (pid %d) still runs" % (n, p) for n, p in self.pids.items()
                    if local_openstack.members(p, self.started[n])]
        problems += ["127.0.0.1:%d (%s) still listens" % (p, n) for n, p in ports.items() if local_openstack.port_open(p)]
        return problems

    def env(self):
        return dict(os.environ, OS_CLIENT_CONFIG_FILE=self.info["clouds_yaml"], OS_CLOUD=self.info["cloud"])

    def openstack(self, *args, out=True, check=True, timeout=180):
        """The openstack CLI of the services' venv; with out, its JSON output decoded."""
        argv = [os.path.join(local_openstack.venv_dir(), "bin", "openstack")] + list(args) + (["-f", "json"] if out else [])
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=self.env(), check=False)
        if check and r.returncode != 0:
            raise AssertionError("openstack %s: %s" % (" ".join(args), r.stderr.strip()[-2000:]))
        return json.loads(r.stdout) if out and r.returncode == 0 else r


@contextlib.contextmanager
def running_cloud(workdir):
    cloud = Cloud(workdir)
    try:
        cloud.start()
        yield cloud
    finally:
        problems = cloud.stop()
        if problems:
            raise AssertionError("the OpenStack test control plane left processes or ports: %s" % "; ".join(problems))
