"""k8s_node_tuning on the real test cluster: the VM role's keys applied by a privileged DaemonSet, read back in a pod.

The node is this machine: the keys the DaemonSet writes are the host's own. The module fixture records every key
the role may write before the first run and writes back those that changed when the module ends (and checks that
they read as before), whatever the tests did.
"""

import json
import os
import subprocess
import sys
import time

import pytest
import yaml
from adhoc import ansible_env
from conftest import ROOT, write_log

BIN = os.path.dirname(sys.executable)
NAMESPACE = "tuning-e2e"
OVERRIDE = ("net.core.somaxconn", 8191)  # an override of the VM variable reaches the node as given
NODE_PORTS = "30000-32767"


def vm_profile_keys():
    """The keys of the VM role's sfu profile, read from its vars (the test does not keep its own copy)."""
    with open(os.path.join(ROOT, "roles", "node_tuning", "vars", "main.yml")) as f:
        tables = yaml.safe_load(f)
    return dict(tables["_node_tuning_common"], **tables["_node_tuning_media"]), tables["_node_tuning_floor_keys"]


def read_key(key):
    with open("/proc/sys/" + key.replace(".", "/")) as f:
        return " ".join(f.read().split())


def write_key(key, value):
    with open("/proc/sys/" + key.replace(".", "/"), "w") as f:
        f.write(value + "\n")  # "\n" alone empties ip_local_reserved_ports


def recap(output):
    line = [ln for ln in output.splitlines() if ln.startswith("k8s-tuning ")][-1]
    return dict((k, int(v)) for k, v in (item.split("=") for item in line.split(":", 1)[1].split()))


def pods(cluster):
    items = json.loads(cluster.kubectl("-n", NAMESPACE, "get", "pods", "-o", "json"))["items"]
    return {p["metadata"]["name"]: (p["metadata"]["uid"],
                                    sum(c["restartCount"] for c in p["status"].get("containerStatuses", [])))
            for p in items}


@pytest.fixture(scope="module")
def tuned(kubernetes_cluster, tmp_path_factory):
    work = tmp_path_factory.mktemp("k8s-tuning")
    profile, floor = vm_profile_keys()
    keys = sorted(set(profile) | {"net.ipv4.ip_local_reserved_ports"})
    before = {k: read_key(k) for k in keys}
    images = kubernetes_cluster.info["images"]
    host = {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "k8s_kubeconfig": kubernetes_cluster.info["kubeconfig"],
        "k8s_namespace": NAMESPACE,
        # the Debian-based coturn image has the shell the init container needs; no registry is reachable here
        "k8s_node_tuning_image": images["coturn"],
        "k8s_node_tuning_pause_image": images["pause"],
        "k8s_node_tuning_image_pull_policy": "Never",
        "k8s_node_tuning_node_port_range": NODE_PORTS,
        "node_tuning_sysctl_overrides": {OVERRIDE[0]: OVERRIDE[1]},
    }
    inv, play = str(work / "inventory.json"), str(work / "play.yml")
    with open(inv, "w") as f:
        json.dump({"all": {"children": {"livekit_k8s": {"hosts": {"k8s-tuning": host}}}}}, f)
    with open(play, "w") as f:
        f.write("- hosts: livekit_k8s\n  gather_facts: false\n  roles: [rtcstack.livekit.k8s_node_tuning]\n")
    runs, seconds = {}, {}
    try:
        for name, extra in (("check", ["--check", "--diff"]), ("first", []), ("second", ["--diff"])):
            if name == "second":
                runs["pods_before"] = pods(kubernetes_cluster)
            started = time.monotonic()
            proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", inv, play] + extra, env=ansible_env(),
                                  capture_output=True, text=True, timeout=600, check=False)
            seconds[name] = round(time.monotonic() - started, 1)
            runs[name] = (proc.returncode, proc.stdout + proc.stderr)
            write_log("k8s-node-tuning-%s.log" % name, runs[name][1])
            if name == "check":
                runs["after_check"] = kubernetes_cluster.kubectl("get", "namespaces", "-o", "name")
        runs["pods_after"] = pods(kubernetes_cluster)
        write_log("k8s-node-tuning-seconds.json", json.dumps(seconds))
        yield {"cluster": kubernetes_cluster, "runs": runs, "before": before, "profile": profile, "floor": floor}
    finally:
        kubernetes_cluster.kubectl("delete", "namespace", NAMESPACE, "--wait=true", "--ignore-not-found", check=False,
                                   timeout=120)
        for key, value in before.items():
            if read_key(key) != value:
                write_key(key, value)
        left = {k: (v, read_key(k)) for k, v in before.items() if read_key(k) != v}
        assert not left, "host sysctls not restored (before, now): %s" % left


def readback_in_a_pod(cluster, keys):
    """The keys as a pod on the node's host network (where LiveKit runs) reads them."""
    script = "for k in %s; do echo \"$k=$(cat /proc/sys/$(echo $k | tr . /))\"; done" % " ".join(keys)
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "readback", "namespace": NAMESPACE},
           "spec": {"hostNetwork": True, "restartPolicy": "Never", "nodeName": cluster.info["node"],
                    "containers": [{"name": "read", "image": cluster.info["images"]["coturn"], "imagePullPolicy": "Never",
                                    "command": ["/bin/sh", "-c", script],
                                    "securityContext": {"runAsUser": 65534, "allowPrivilegeEscalation": False}}]}}
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(pod))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        phase = json.loads(cluster.kubectl("-n", NAMESPACE, "get", "pod", "readback", "-o", "json"))["status"].get("phase")
        if phase in ("Succeeded", "Failed"):
            break
        time.sleep(1)
    assert phase == "Succeeded", cluster.kubectl("-n", NAMESPACE, "describe", "pod", "readback", check=False)
    out = cluster.kubectl("-n", NAMESPACE, "logs", "readback")
    # /proc/sys separates the numbers of a vector key with tabs; the ConfigMap with single spaces
    return {k: " ".join(v.split()) for k, v in (line.split("=", 1) for line in out.splitlines() if "=" in line)}


def configmap(cluster):
    data = json.loads(cluster.kubectl("-n", NAMESPACE, "get", "configmap", "node-tuning", "-o", "json"))["data"]
    return dict(line.split("=", 1) for line in data["sysctl.conf"].splitlines()), data["floor"].split()


def test_check_mode_creates_nothing(tuned):
    rc, out = tuned["runs"]["check"]
    assert rc == 0, out[-4000:]
    assert "namespace/%s" % NAMESPACE not in tuned["runs"]["after_check"]


def test_the_keys_are_the_vm_roles_with_the_overrides(tuned):
    rc, out = tuned["runs"]["first"]
    assert rc == 0, out[-6000:]
    conf, floor = configmap(tuned["cluster"])
    node = json.loads(tuned["cluster"].kubectl("get", "node", tuned["cluster"].info["node"], "-o", "json"))
    memory_kib = int(node["status"]["capacity"]["memory"].rstrip("Ki"))
    pages = memory_kib // 1024 * 256
    expected = {k: " ".join(str(v).split()) for k, v in tuned["profile"].items() if "{{" not in str(v)}
    expected.update({"net.ipv4.udp_mem": "%d %d %d" % (pages // 8, pages // 4, pages // 2),
                     OVERRIDE[0]: str(OVERRIDE[1]),
                     # the profile's ephemeral range (10240-49151) covers the NodePorts: they are reserved
                     "net.ipv4.ip_local_reserved_ports": NODE_PORTS})
    assert conf == expected
    assert OVERRIDE[0] not in floor and "fs.file-max" in floor and set(floor) <= set(tuned["floor"])


def test_a_pod_on_the_node_reads_the_values_back(tuned):
    conf, floor = configmap(tuned["cluster"])
    seen = readback_in_a_pod(tuned["cluster"], sorted(conf))
    for key, wanted in conf.items():
        before = tuned["before"][key]
        if key in floor and before.isdigit() and int(before) > int(wanted):
            wanted = before  # a capacity key the kernel already had higher is kept, as on VMs
        assert seen[key] == wanted, (key, seen[key], wanted)
    # the init container's table, reported by the role
    rc, out = tuned["runs"]["first"]
    assert "net.core.rmem_max" in out and "applied" in out and "nofile (this pod)" in out


def test_second_run_changes_nothing_and_restarts_no_pod(tuned):
    rc, out = tuned["runs"]["second"]
    assert rc == 0, out[-6000:]
    assert recap(out)["changed"] == 0, out[-6000:]
    before, after = tuned["runs"]["pods_before"], tuned["runs"]["pods_after"]
    assert len(after) == 1 and before == after
