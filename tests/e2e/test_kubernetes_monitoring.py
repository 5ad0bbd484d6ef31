"""livekit-server's Prometheus objects on the real test cluster (roles/monitoring/tasks/kubernetes.yml, called by
k8s_livekit_server): without the Prometheus Operator a ConfigMap with a scrape config and the rule file; with its
CRDs (../shared/charts/prometheus-operator-crds, the real schemas) a ServiceMonitor and a PrometheusRule. The rules
are the VM role's template: promtool must accept them as read back from the cluster, and a rerun changes nothing."""

import json
import os
import subprocess
import sys

import promtool
import pytest
import yaml
from adhoc import ansible_env
from conftest import ROOT, write_log

# shared/ beside the checkout (RTCSTACK_SHARED elsewhere, e.g. from a git worktree)
CRDS = os.path.join(os.environ.get("RTCSTACK_SHARED", os.path.join(os.path.dirname(ROOT), "shared")), "charts",
                    "prometheus-operator-crds")
NAMESPACE = "livekit-monitoring-e2e"
BIN = os.path.dirname(sys.executable)
PLAY = """
- hosts: k8s-mon
  gather_facts: false
  tasks:
    - name: The monitoring role's Kubernetes tasks, as k8s_livekit_server calls them
      ansible.builtin.include_role:
        name: rtcstack.livekit.monitoring
        tasks_from: kubernetes.yml
      vars:
        _monitoring_k8s:
          kubeconfig: {kubeconfig}
          context: ""
          namespace: {namespace}
          release: livekit-server
          selector: {{app.kubernetes.io/name: livekit-server, app.kubernetes.io/instance: livekit-server}}
          labels: {{app.kubernetes.io/managed-by: rtcstack.livekit}}
          port: 7989
        livekit_deployment: {{monitoring: {{jobs: {{}}}}}}
"""

pytestmark = pytest.mark.skipif(not os.path.isdir(CRDS), reason="the Prometheus Operator CRDs are not at %s" % CRDS)


def playbook(cluster, work, name):
    play = work / "monitoring.yml"
    play.write_text(PLAY.format(kubeconfig=cluster.info["kubeconfig"], namespace=NAMESPACE))
    inv = work / "inventory.json"
    inv.write_text(json.dumps({"all": {"hosts": {"k8s-mon": {"ansible_connection": "local",
                                                             "ansible_python_interpreter": sys.executable,
                                                             "monitoring_k8s_labels": {"release": "prometheus"}}}}}))
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", str(inv), str(play)], env=ansible_env(),
                          capture_output=True, text=True, timeout=300, check=False)
    write_log("k8s-monitoring-%s.log" % name, proc.stdout + proc.stderr)
    assert proc.returncode == 0, proc.stdout[-4000:]
    recap = [ln for ln in proc.stdout.splitlines() if ln.startswith("k8s-mon ")][-1]
    return int(recap.split("changed=")[1].split()[0])


def check_rules(text, tmp_path, name):
    path = tmp_path / name
    path.write_text(text)
    run = subprocess.run([promtool.path(), "check", "rules", str(path)], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    return yaml.safe_load(text)["groups"]


def vm_rule_names():
    """The alerts of the VM template's livekit group (the group the Kubernetes objects carry)."""
    with open(os.path.join(ROOT, "roles", "monitoring", "templates", "livekit.rules.yml.j2")) as f:
        text = f.read()
    livekit = text.split("  - name: livekit-hosts")[0]
    return [ln.split("alert:")[1].strip() for ln in livekit.splitlines() if ln.strip().startswith("- alert:")]


@pytest.fixture(scope="module")
def cluster(kubernetes_cluster):
    kubernetes_cluster.kubectl("create", "namespace", NAMESPACE)
    try:
        yield kubernetes_cluster
    finally:
        # the CRDs go first and completely: a later test must not find them (nor their objects) terminating
        kubernetes_cluster.kubectl("delete", "--ignore-not-found", "--timeout=120s", "-f", CRDS, check=False, timeout=180)
        kubernetes_cluster.kubectl("delete", "namespace", NAMESPACE, "--wait=false", check=False)


def test_without_the_operator_a_scrape_config_and_the_rule_file(cluster, tmp_path):
    assert playbook(cluster, tmp_path, "plain") > 0
    data = json.loads(cluster.kubectl("-n", NAMESPACE, "get", "configmap", "livekit-server-prometheus", "-o", "json"))["data"]
    groups = check_rules(data["livekit.rules.yml"], tmp_path, "plain.rules.yml")
    assert [g["name"] for g in groups] == ["livekit"]
    assert [r["alert"] for r in groups[0]["rules"]] == vm_rule_names()
    # (promtool check config cannot judge it here: Debian's promtool is built without Kubernetes service discovery,
    # "field kubernetes_sd_configs not found in type config.ScrapeConfig")
    job = yaml.safe_load(data["scrape_configs.yml"])["scrape_configs"][0]
    assert job["job_name"] == "livekit"
    assert job["kubernetes_sd_configs"] == [{"role": "endpoints", "namespaces": {"names": [NAMESPACE]}}]
    keep = job["relabel_configs"][0]
    assert keep["regex"] == "livekit-server-metrics;metrics" and keep["action"] == "keep"
    service = json.loads(cluster.kubectl("-n", NAMESPACE, "get", "service", "livekit-server-metrics", "-o", "json"))
    assert service["spec"]["ports"][0]["port"] == 7989 and service["metadata"]["labels"]["rtcstack.io/job"] == "livekit"
    assert playbook(cluster, tmp_path, "plain-again") == 0


def test_with_the_operator_crds_a_servicemonitor_and_a_prometheusrule(cluster, tmp_path):
    cluster.kubectl("apply", "--server-side", "-f", CRDS)
    cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", "-f", CRDS)
    assert playbook(cluster, tmp_path, "operator") > 0
    monitor = json.loads(cluster.kubectl("-n", NAMESPACE, "get", "servicemonitor", "livekit-server", "-o", "json"))
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert monitor["spec"]["jobLabel"] == "rtcstack.io/job"
    assert monitor["spec"]["selector"]["matchLabels"]["rtcstack.io/job"] == "livekit"
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    rule = json.loads(cluster.kubectl("-n", NAMESPACE, "get", "prometheusrule", "livekit-server", "-o", "json"))
    groups = check_rules(yaml.safe_dump({"groups": rule["spec"]["groups"]}), tmp_path, "operator.rules.yml")
    assert [r["alert"] for r in groups[0]["rules"]] == vm_rule_names()
    # the plain scrape config of the first run is gone
    assert cluster.kubectl("-n", NAMESPACE, "get", "configmap", "livekit-server-prometheus", check=False) == ""
    assert playbook(cluster, tmp_path, "operator-again") == 0
