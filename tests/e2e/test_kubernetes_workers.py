"""k8s_livekit_workers on the real test cluster: the official ingress and egress charts, secrets only in Secrets.

The real livekit/ingress and livekit/egress images cannot be had here (no registry is reachable, and LiveKit
ships them only as images), so their pods never start (ErrImageNeverPull) and the role is run with
k8s_livekit_workers_wait false. What is tested is what the cluster and helm hold: the releases of the official
charts (through the post-renderer) from the VM roles' variables, the configuration with its secrets in a Secret
that the worker's *_CONFIG_BODY points at, no secret in any ConfigMap, in `helm get values --all`, in the release
manifest or in the output, and a second run that changes nothing. Not tested: a worker running.
"""

import base64
import json
import os
import secrets
import subprocess
import sys

import pytest
import yaml
from adhoc import ansible_env
from conftest import ROOT, assert_no_secrets, write_log

# ../shared/charts of the checkout; RTCSTACK_CHARTS for a checkout elsewhere (a git worktree).
CHARTS = os.path.join(os.environ.get("RTCSTACK_CHARTS", os.path.join(os.path.dirname(ROOT), "shared", "charts")), "livekit-helm")
BIN = os.path.dirname(sys.executable)
NAMESPACE = "workers-e2e"
REDIS = "10.208.0.250:6379"  # an explicit VM-style Redis block: the password is added by the VM role's logic

pytestmark = pytest.mark.skipif(not os.path.isdir(os.path.join(CHARTS, "ingress")),
                                reason="the official charts are not at %s" % CHARTS)
IMAGES = {"ingress": "docker.io/livekit/ingress:v1.5.0", "egress": "docker.io/livekit/egress:v1.14.1"}  # the VM roles' defaults


def recap(output):
    line = [ln for ln in output.splitlines() if ln.startswith("k8s-workers ")][-1]
    return dict((k, int(v)) for k, v in (item.split("=") for item in line.split(":", 1)[1].split()))


@pytest.fixture(scope="module")
def workers(kubernetes_cluster, tmp_path_factory):
    work = tmp_path_factory.mktemp("k8s-workers")
    key, secret = "APIworkers", secrets.token_urlsafe(36)
    redis_password, s3_secret = secrets.token_urlsafe(36), secrets.token_urlsafe(30)
    host = {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "k8s_kubeconfig": kubernetes_cluster.info["kubeconfig"],
        "k8s_helm_binary": kubernetes_cluster.info["helm"],
        "k8s_namespace": NAMESPACE,
        "k8s_livekit_workers_enabled": ["ingress", "egress"],
        "k8s_livekit_workers_ingress_chart": os.path.join(CHARTS, "ingress"),
        "k8s_livekit_workers_egress_chart": os.path.join(CHARTS, "egress"),
        "k8s_livekit_workers_image_pull_policy": "Never",
        "k8s_livekit_workers_wait": False,
        # the VM roles' variables
        "livekit_api_keys": {key: secret},
        "redis_password": redis_password,
        "livekit_ingress_redis": {"address": REDIS},
        "livekit_egress_redis": {"address": REDIS},
        "livekit_egress_storage": "s3",
        "livekit_egress_s3_bucket": "recordings",
        "livekit_egress_s3_access_key": "AKIAWORKERS",
        "livekit_egress_s3_secret": s3_secret,
    }
    inv, play = str(work / "inventory.json"), str(work / "play.yml")
    with open(inv, "w") as f:
        json.dump({"all": {"children": {"livekit_k8s": {"hosts": {"k8s-workers": host}}}}}, f)
    os.chmod(inv, 0o600)
    with open(play, "w") as f:
        f.write("- hosts: livekit_k8s\n  gather_facts: false\n  roles: [rtcstack.livekit.k8s_livekit_workers]\n")
    runs = {}
    for name in ("first", "second"):
        proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", inv, play], env=ansible_env(),
                              capture_output=True, text=True, timeout=600, check=False)
        runs[name] = (proc.returncode, proc.stdout + proc.stderr)
        write_log("k8s-workers-%s.log" % name, runs[name][1])
    yield {"cluster": kubernetes_cluster, "runs": runs, "secrets": [secret, redis_password, s3_secret], "key": key,
           "secret": secret, "redis_password": redis_password, "s3_secret": s3_secret}
    kubernetes_cluster.kubectl("delete", "namespace", NAMESPACE, "--wait=true", "--ignore-not-found", check=False, timeout=120)


def helm(cluster, *args):
    return subprocess.run([cluster.info["helm"], "--kubeconfig", cluster.info["kubeconfig"], "-n", NAMESPACE] + list(args),
                          capture_output=True, text=True, check=True).stdout


def test_releases_of_the_official_charts_and_a_second_run_changes_nothing(workers):
    for name in ("first", "second"):
        rc, out = workers["runs"][name]
        assert rc == 0, out[-6000:]
    assert recap(workers["runs"]["second"][1])["changed"] == 0, workers["runs"]["second"][1][-6000:]
    releases = {r["name"]: r["chart"] for r in json.loads(helm(workers["cluster"], "list", "-o", "json"))}
    assert releases == {"livekit-ingress": "ingress-1.4.3", "livekit-egress": "egress-1.9.0"}


@pytest.mark.parametrize("worker", ["ingress", "egress"])
def test_the_config_is_the_vm_roles_and_only_the_secret_holds_the_secrets(workers, worker):
    cluster = workers["cluster"]
    release = "livekit-" + worker
    data = json.loads(cluster.kubectl("-n", NAMESPACE, "get", "secret", release + "-config", "-o", "json"))["data"]
    config = yaml.safe_load(base64.b64decode(data["config.yaml"]))
    assert config["api_key"] == workers["key"] and config["api_secret"] == workers["secret"]
    assert config["redis"] == {"address": REDIS, "password": workers["redis_password"]}
    assert config["ws_url"] == "ws://livekit-server.%s.svc:7880" % NAMESPACE  # livekit_ws_url empty: the Service
    if worker == "egress":
        assert config["storage"]["s3"]["secret"] == workers["s3_secret"]
    deployment = json.loads(cluster.kubectl("-n", NAMESPACE, "get", "deployment", release, "-o", "json"))
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    body = {"secretKeyRef": {"name": release + "-config", "key": "config.yaml"}}
    assert env["%s_CONFIG_BODY" % worker.upper()]["valueFrom"] == body
    assert container["image"] == IMAGES[worker]
    # the chart's ConfigMap: the same configuration without its secrets
    configmap = json.loads(cluster.kubectl("-n", NAMESPACE, "get", "configmap", release, "-o", "json"))
    public = yaml.safe_load(configmap["data"]["config.yaml"])
    assert public["api_key"] == workers["key"] and "api_secret" not in public and public["redis"] == {"address": REDIS}


def test_no_secret_in_configmaps_helm_values_manifests_or_output(workers):
    cluster = workers["cluster"]
    texts = {"ConfigMaps": cluster.kubectl("get", "configmaps", "--all-namespaces", "-o", "json"),
             "playbook output": "".join(out for rc, out in workers["runs"].values())}
    for release in ("livekit-ingress", "livekit-egress"):
        texts["helm get values " + release] = helm(cluster, "get", "values", "--all", release)
        texts["helm get manifest " + release] = helm(cluster, "get", "manifest", release)
    for where, text in texts.items():
        assert_no_secrets(text, workers["secrets"], where)
