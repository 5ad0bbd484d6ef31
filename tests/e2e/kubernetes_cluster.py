"""A real single-node Kubernetes for the tests (scripts/local_kubernetes.py), and what it must undo.

tests/conftest.py's ``kubernetes_cluster`` fixture starts it once per session, only when a test
asks for it, and stops it at the end. The checks of the host after a stop read the host
themselves (sysctls, links, namespaces, mounts, processes, nftables): they do not trust the
harness' own account.
"""

import contextlib
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "scripts", "local_kubernetes.py")
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import local_kubernetes  # noqa: E402 (scripts/ is not a package)


def read_host():
    """What the cluster may change on the host, read from the host itself."""
    links = set(os.listdir("/sys/class/net"))
    netns = set(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else set()
    return {
        "sysctls": {k: local_kubernetes.read_sysctl(k) for k in local_kubernetes.SYSCTLS},
        "links": sorted(links & {local_kubernetes.VETH, local_kubernetes.BRIDGE}),
        "netns": sorted(netns & {local_kubernetes.NETNS}),
        "kube_proxy_tables": sorted(t for t in nft_tables() if t.endswith(" kube-proxy")),
        "host_dirs": sorted(p for p in local_kubernetes.HOST_DIRS if os.path.exists(p)),
        "kubepods_cgroups": local_kubernetes.cgroups_exist(),
    }


def nft_tables():
    out = subprocess.run(["nft", "list", "tables"], stdout=subprocess.PIPE, text=True, check=False).stdout
    return [line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("table ")]


class Cluster:
    def __init__(self, workdir):
        self.dir = workdir
        self.info = None
        self.pids = {}
        self.programs = {}
        self.before = None

    def start(self):
        self.before = read_host()
        out = subprocess.run([sys.executable, SCRIPT, "start", "--dir", self.dir], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, timeout=300, check=False)
        if out.returncode != 0:
            raise RuntimeError("local_kubernetes.py start failed:\n%s" % out.stdout[-4000:])
        self.info = json.loads(out.stdout.strip().splitlines()[-1])
        with open(os.path.join(self.dir, "state.json")) as f:
            state = json.load(f)
        self.pids, self.programs = state["pids"], state["programs"]
        return self.info

    def stop(self):
        """Stop the cluster and return what is left on the host that was not there before start."""
        if self.info is None:
            return []
        subprocess.run([sys.executable, SCRIPT, "stop", "--dir", self.dir], timeout=300, check=False)
        self.info = None
        return self.leftovers()

    def leftovers(self):
        after = read_host()
        problems = ["%s: %r before, %r after" % (k, self.before[k], after[k]) for k in after
                    if k != "sysctls" and after[k] != self.before[k]]
        problems += ["%s: %s before, %s after" % (k, v, after["sysctls"][k]) for k, v in self.before["sysctls"].items()
                     if after["sysctls"][k] != v]
        problems += ["%s (pid %d) still runs" % (n, p) for n, p in self.pids.items()
                     if local_kubernetes.alive(p) and local_kubernetes.program(p) == self.programs.get(n)]
        problems += ["still mounted: %s" % m for m in local_kubernetes.mounts_under(self.dir)]
        return problems

    def kubectl(self, *args, check=True, stdin=None, timeout=120):
        argv = [self.info["kubectl"], "--kubeconfig", self.info["kubeconfig"]] + list(args)
        r = subprocess.run(argv, input=stdin, capture_output=True, text=True,
                           timeout=timeout, check=False)
        if check and r.returncode != 0:
            raise AssertionError("kubectl %s: %s" % (" ".join(args), r.stderr.strip()))
        return r.stdout


@contextlib.contextmanager
def running_cluster(workdir):
    cluster = Cluster(workdir)
    try:
        cluster.start()
        yield cluster
    finally:
        problems = cluster.stop()
        if problems:
            raise AssertionError("the Kubernetes test cluster left the host changed: %s" % "; ".join(problems))
