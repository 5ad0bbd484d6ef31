"""playbooks/kubernetes.yml refuses bad input on the real test cluster with one clear message, before anything changes.

The inventory is test_kubernetes_livekit.py's (in-cluster Redis and the coturn DaemonSet, which the play would
create before LiveKit), in a namespace and on ports of its own; each run gets one bad input. After each run the
namespace and any Helm release in it must not exist: the refusal came before the first change.
"""

import json
import re
import secrets
import subprocess

import pytest
from conftest import assert_no_secrets, write_log
from test_kubernetes_livekit import inventory, playbook
from test_kubernetes_livekit import pytestmark as livekit_marks

pytestmark = livekit_marks  # as test_kubernetes_livekit.py: skipped without the official chart

NAMESPACE = "preflight-e2e"
PORT = 7960  # LiveKit's HTTP port in these runs (RTC TCP +1, UDP +2, metrics +9): no other test's pod holds them


@pytest.fixture(scope="module")
def refused(kubernetes_cluster, tmp_path_factory):
    """run(name, **bad): the playbook with one bad input; asserts a refusal that changed nothing, returns its output."""
    inv = str(tmp_path_factory.mktemp("k8s-preflight") / "inventory.json")
    made = list(map(secrets.token_urlsafe, [36] * 3))
    inventory(inv, kubernetes_cluster, {"APIpreflight": made[0]}, made[1], made[2])
    own = {"k8s_namespace": NAMESPACE, "livekit_server_port": PORT, "livekit_server_rtc_tcp_port": PORT + 1,
           "livekit_server_rtc_udp_port": str(PORT + 2), "livekit_server_prometheus_port": PORT + 9}
    info = kubernetes_cluster.info

    def run(name, message, **bad):
        rc, out = playbook(inv, "-e", json.dumps(dict(own, **bad)))
        write_log("k8s-preflight-%s.log" % name, out)
        assert rc != 0, out[-4000:]
        assert "Traceback (most recent call last)" not in out, out[-4000:]
        found = re.search(message, out)
        assert found, out[-4000:]
        assert_no_secrets(out, made, "playbook output")
        namespaces = kubernetes_cluster.kubectl("get", "namespaces", "-o", "name").split()
        assert "namespace/%s" % NAMESPACE not in namespaces, "the refused run created the namespace"
        releases = subprocess.run([info["helm"], "--kubeconfig", info["kubeconfig"], "-n", NAMESPACE, "list", "--all", "-q"],
                                  capture_output=True, text=True, timeout=60, check=True).stdout.split()
        assert releases == [], releases
        return out[found.start():].split("\n", 1)[0]

    return run


def test_a_kubeconfig_that_does_not_exist(refused, tmp_path):
    missing = str(tmp_path / "missing.kubeconfig")
    refused("kubeconfig", r"The kubeconfig %s does not exist" % re.escape(missing), k8s_kubeconfig=missing)


def test_a_context_that_is_not_in_the_kubeconfig(refused):
    refused("context", r"The Kubernetes API cannot be reached .*\(context: no-such-context\)", k8s_context="no-such-context")


def test_a_chart_path_that_does_not_exist(refused, tmp_path):
    missing = str(tmp_path / "livekit-server")
    refused("chart", r"k8s_livekit_server_chart is a path, but %s/Chart.yaml does not exist" % re.escape(missing),
            k8s_livekit_server_chart=missing)


def test_a_node_label_no_node_carries(refused):
    refused("node-label", r"1 LiveKit pod\(s\) need as many nodes labelled rtcstack.io/role=sfu-nowhere .*0 found",
            k8s_livekit_server_node_selector={"rtcstack.io/role": "sfu-nowhere"})


def test_a_pod_holding_livekits_port_on_the_host_network(refused, kubernetes_cluster):
    """A plain pod on the node's network declares LiveKit's HTTP port first."""
    info = kubernetes_cluster.info
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "port-holder", "namespace": "default"},
           "spec": {"nodeName": info["node"], "hostNetwork": True, "terminationGracePeriodSeconds": 0,
                    "containers": [{"name": "holder", "image": info["images"]["redis"], "imagePullPolicy": "Never",
                                    "command": ["sleep", "600"], "ports": [{"containerPort": PORT, "protocol": "TCP"}]}]}}
    kubernetes_cluster.kubectl("apply", "-f", "-", stdin=json.dumps(pod))
    try:
        refused("port", r"LiveKit runs on the host network and needs its ports free: .*TCP %d.*default/port-holder" % PORT)
    finally:
        kubernetes_cluster.kubectl("delete", "pod", "-n", "default", "port-holder", "--wait=true", check=False)
