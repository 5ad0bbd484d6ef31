"""The Kubernetes test cluster itself: a Ready node that runs the local livekit-server image, and a
stop that leaves the host as it was found (read back from the host, not from the harness)."""

import json
import secrets
import time
import urllib.request

import kubernetes_cluster as harness
import pytest

POD = """
apiVersion: v1
kind: Secret
metadata:
  name: livekit-keys
type: Opaque
stringData:
  keys.yaml: "{key}: {secret}"
---
apiVersion: v1
kind: Pod
metadata:
  name: livekit
  labels:
    app: livekit
spec:
  terminationGracePeriodSeconds: 2
  dnsPolicy: Default
  # A Service named livekit would put LIVEKIT_PORT=tcp://... into the environment, which livekit-server reads.
  enableServiceLinks: false
  containers:
  - name: server
    image: {image}
    imagePullPolicy: Never
    args:
    - --config-body
    - "port: 7880\\nkey_file: /keys/keys.yaml\\nrtc:\\n  tcp_port: 7881\\n  udp_port: 7882\\n  use_external_ip: false\\n"
    ports:
    - containerPort: 7880
    readinessProbe:
      httpGet:
        path: /
        port: 7880
      periodSeconds: 1
    volumeMounts:
    - name: keys
      mountPath: /keys
      readOnly: true
  volumes:
  - name: keys
    secret:
      secretName: livekit-keys
      defaultMode: 0400
---
apiVersion: v1
kind: Service
metadata:
  name: livekit
spec:
  selector:
    app: livekit
  ports:
  - port: 7880
    targetPort: 7880
"""


def http_get(url):
    with urllib.request.urlopen(url, timeout=3) as r:  # noqa: S310 (addresses inside the test cluster)
        return r.status, r.read().strip()


def test_node_ready(kubernetes_cluster):
    node = json.loads(kubernetes_cluster.kubectl("get", "node", kubernetes_cluster.info["node"], "-o", "json"))
    ready = [c["status"] for c in node["status"]["conditions"] if c["type"] == "Ready"]
    assert ready == ["True"]
    assert node["status"]["nodeInfo"]["kubeletVersion"] == "v1.34.4"
    addresses = {a["type"]: a["address"] for a in node["status"]["addresses"]}
    assert addresses["InternalIP"] == kubernetes_cluster.info["node_ip"]
    assert kubernetes_cluster.kubectl("-n", "default", "get", "serviceaccount", "default", "-o", "name").strip() == \
        "serviceaccount/default"


def test_livekit_pod_answers(kubernetes_cluster):
    image = kubernetes_cluster.info["images"]["livekit"]
    manifest = POD.format(image=image, key="APItest", secret=secrets.token_urlsafe(32))
    kubernetes_cluster.kubectl("apply", "-f", "-", stdin=manifest)
    try:
        ready = kubernetes_cluster.kubectl("wait", "--for=condition=Ready", "pod/livekit", "--timeout=90s",
                                           check=False, timeout=120)
        assert ready.strip(), "pod not Ready:\n%s\n%s" % (
            kubernetes_cluster.kubectl("describe", "pod", "livekit", check=False)[-1500:],
            kubernetes_cluster.kubectl("logs", "livekit", "--all-containers", "--tail=20", check=False))
        pod = json.loads(kubernetes_cluster.kubectl("get", "pod", "livekit", "-o", "json"))
        assert pod["status"]["phase"] == "Running"
        assert pod["status"]["containerStatuses"][0]["image"].endswith(image.split("/", 1)[1])
        pod_ip = pod["status"]["podIP"]
        assert http_get("http://%s:7880/" % pod_ip) == (200, b"OK")
        # Through the ClusterIP Service: kube-proxy's nftables rules on the node.
        cluster_ip = kubernetes_cluster.kubectl("get", "service", "livekit", "-o", "jsonpath={.spec.clusterIP}").strip()
        deadline = time.monotonic() + 30
        while True:
            try:
                assert http_get("http://%s:7880/" % cluster_ip) == (200, b"OK")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
    finally:
        kubernetes_cluster.kubectl("delete", "--wait=false", "-f", "-", stdin=manifest, check=False)


@pytest.mark.parametrize("key", ["vm.overcommit_memory", "kernel.panic", "kernel.panic_on_oops"])
def test_kubelet_changed_sysctls_while_running(kubernetes_cluster, key):
    """The kubelet sets these on start: the restore below is only worth testing if it did."""
    before = kubernetes_cluster.before["sysctls"][key]
    wanted = {"vm.overcommit_memory": "1", "kernel.panic": "10", "kernel.panic_on_oops": "1"}[key]
    assert harness.local_kubernetes.read_sysctl(key) == wanted, "the kubelet did not set %s (was %s)" % (key, before)


def test_stop_leaves_host_as_found(kubernetes_cluster):
    """Stop, compare the host with what it was before start, and start again for later tests."""
    before = kubernetes_cluster.before
    problems = kubernetes_cluster.stop()
    assert problems == []
    assert harness.read_host()["sysctls"] == before["sysctls"]
    kubernetes_cluster.start()
