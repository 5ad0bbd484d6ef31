"""Job templates as AWX runs them: ansible-runner inside the execution environment (`make ee` builds it).

Each job gets a private data directory laid out as AWX lays it out (tests/e2e/awx_job.py): the project
checkout, an inventory, the survey answers as extra vars, and the "LiveKit API" credential injected by its
own injectors (extras/awx/credential_type_livekit_api.yml) as environment variables. The EE runs
`ansible-runner run` without a TTY against the real test server; the test reads the artifacts AWX reads
(status, rc, job_events/*.json, stdout) and checks that no secret is in them.
"""

import json
import os
import secrets
import shutil
import subprocess
import sys

import awx_job
import pytest
import yaml
from conftest import ROOT, assert_no_secrets, write_log

with open(os.path.join(ROOT, "galaxy.yml")) as _f:
    VERSION = yaml.safe_load(_f)["version"]
IMAGE = os.environ.get("RTCSTACK_EE_IMAGE", "localhost/rtcstack-livekit-ee:%s" % VERSION)
with open(os.path.join(ROOT, "extras", "awx", "credential_type_livekit_api.yml")) as _f:
    CREDENTIAL_TYPE = yaml.safe_load(_f)
with open(os.path.join(ROOT, "extras", "awx", "surveys.yml")) as _f:
    SURVEYS = yaml.safe_load(_f)["surveys"]

BASE_IMAGE = "localhost/rtcstack-debian12:2"
HOST = "awx-ee-redis-1"
NETWORK = "rtcstack-awx-ee"
# Host-wide kernel keys a privileged test host can change (the redis role writes vm.overcommit_memory).
HOST_KEYS = ("vm.overcommit_memory", "fs.file-max", "fs.nr_open")

API_PLAYBOOK = """\
- name: API objects from the LiveKit API credential alone (no connection option in a task)
  hosts: localhost
  gather_facts: false
  tasks:
    - name: A room
      rtcstack.livekit.room:
        name: "{{ awx_room }}"
        max_participants: 5
      register: created
    - name: Read it back
      rtcstack.livekit.room_info:
        names: ["{{ awx_room }}"]
      register: found
    - name: Remove it
      rtcstack.livekit.room:
        name: "{{ awx_room }}"
        state: absent
    - name: The room was there
      ansible.builtin.assert:
        that:
          - created is changed
          - found.rooms | map(attribute='name') | list == [awx_room]
"""


@pytest.fixture(scope="module")
def ee_image():
    # `make ee` builds the image from this checkout and then runs these tests; elsewhere an image left from an
    # older checkout would be tested instead of this one.
    if os.environ.get("RTCSTACK_EE_TESTS") != "1":
        pytest.skip("the job runs in the execution environment run with `make ee` (RTCSTACK_EE_TESTS=1)")
    if subprocess.run(["podman", "image", "exists", IMAGE], check=False).returncode != 0:
        pytest.skip("no execution environment image %s: `make ee` builds it" % IMAGE)
    return IMAGE


def credential_env(livekit, pdd):
    inputs = {"url": livekit["url"], "api_key": livekit["api_key"], "api_secret": livekit["api_secret"], "ca_cert": ""}
    return awx_job.inject_credential(CREDENTIAL_TYPE, inputs, pdd)


def check_job(proc, artifacts, safe_env, livekit, name):
    # What AWX keeps of a job: the events, stdout, status and rc of the artifacts, and the job's environment with
    # the credential's secret masked. ansible-runner also writes the environment it ran with, secret included,
    # to artifacts/<ident>/command (0600, like env/envvars): the private data dir AWX deletes after the job.
    kept = awx_job.read_tree(artifacts, skip=("command",))
    job_env = awx_job.job_env(artifacts, safe_env)
    assert job_env["LIVEKIT_API_SECRET"] == "**********" and job_env["LIVEKIT_URL"] == livekit["url"]
    assert os.stat(os.path.join(artifacts, "command")).st_mode & 0o777 == 0o600
    write_log("awx-%s.log" % name, proc.stdout + proc.stderr)
    assert_no_secrets(proc.stdout + proc.stderr + kept + repr(job_env), livekit.secrets,
                      "the %s job's output, events and stored environment" % name)
    assert "eyJ" not in kept, "a token appeared in the %s job's artifacts" % name
    with open(os.path.join(artifacts, "status")) as f:
        status = f.read().strip()
    with open(os.path.join(artifacts, "rc")) as f:
        rc = f.read().strip()
    assert (status, rc) == ("successful", "0"), proc.stdout[-3000:] + proc.stderr[-2000:]
    events = awx_job.job_events(artifacts)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "playbook_on_start" and kinds[-1] == "playbook_on_stats"
    stats = events[-1]["event_data"]
    assert stats["failures"] == {} and stats["dark"] == {} and "localhost" in stats["ok"]
    return events


def test_injectors_render_as_awx_renders_them(tmp_path):
    env, safe_env = awx_job.inject_credential(CREDENTIAL_TYPE, {"url": "https://lk.example.com", "api_key": "APIk",
                                                                "api_secret": "s" * 32, "ca_cert": "PEM"}, str(tmp_path))
    assert safe_env["LIVEKIT_API_SECRET"] == "**********" and safe_env["LIVEKIT_API_KEY"] == "APIk"
    assert (env["LIVEKIT_URL"], env["LIVEKIT_API_KEY"], env["LIVEKIT_API_SECRET"]) == ("https://lk.example.com", "APIk", "s" * 32)
    ca = env["LIVEKIT_CA_PATH"]
    assert ca.startswith("/runner/env/")
    local = tmp_path / os.path.relpath(ca, "/runner")
    assert local.read_text() == "PEM" and (local.stat().st_mode & 0o777) == 0o600
    # without a CA certificate the variable is empty (playbooks then omit ca_path)
    env, _safe = awx_job.inject_credential(CREDENTIAL_TYPE, {"url": "u", "api_key": "k", "api_secret": "s", "ca_cert": ""},
                                           str(tmp_path / "other"))
    assert env["LIVEKIT_CA_PATH"] == ""
    secret = [f["id"] for f in CREDENTIAL_TYPE["inputs"]["fields"] if f.get("secret")]
    assert secret == ["api_secret"] and set(CREDENTIAL_TYPE["inputs"]["required"]) == {"url", "api_key", "api_secret"}


def test_smoke_check_job_template(ee_image, livekit, tmp_path):
    """The smoke check job template: verify.yml with its survey answers and the LiveKit API credential."""
    pdd = str(tmp_path / "job")
    envvars, safe_env = credential_env(livekit, pdd)
    answers = {"verify_result_path": "/runner/verify-result.json"}
    assert set(answers) <= {q["variable"] for q in SURVEYS["verify"]["questions"]}
    awx_job.private_data_dir(pdd, {"playbooks/verify.yml": os.path.join(ROOT, "playbooks", "verify.yml")},
                             "localhost ansible_connection=local\n", answers, envvars)
    proc, artifacts = awx_job.run_job(ee_image, pdd, "playbooks/verify.yml", "1")
    events = check_job(proc, artifacts, safe_env, livekit, "verify")
    smoke = [e for e in events if e["event"] == "runner_on_ok"
             and e["event_data"]["task"] == "One publisher and one subscriber, media both ways"]
    assert len(smoke) == 1
    result = smoke[0]["event_data"]["res"]["result"]
    assert result["participants"]["connected"] == result["participants"]["planned"] == 2
    assert result["tracks"]["subscribed"] == result["tracks"]["expected_subscriptions"]
    assert os.path.isfile(os.path.join(pdd, "verify-result.json"))


def test_api_job_reads_the_credential_environment(ee_image, livekit, tmp_path):
    """API modules with no connection option: url, key and secret come from the injected environment."""
    pdd = str(tmp_path / "job")
    envvars, safe_env = credential_env(livekit, pdd)
    source = tmp_path / "api.yml"
    source.write_text(API_PLAYBOOK)
    room = "awx-job-%d" % os.getpid()
    awx_job.private_data_dir(pdd, {"api.yml": str(source)}, "localhost ansible_connection=local\n", {"awx_room": room}, envvars)
    proc, artifacts = awx_job.run_job(ee_image, pdd, "api.yml", "2")
    events = check_job(proc, artifacts, safe_env, livekit, "api")
    changed = [e["event_data"]["task"] for e in events if e["event"] == "runner_on_ok" and e["event_data"]["res"].get("changed")]
    assert changed == ["A room", "Remove it"]


class SshHosts:
    """Debian 12 systemd hosts with sshd on a podman network of their own: what AWX reaches over SSH."""

    def __init__(self, tmp_path):
        key = tmp_path / "id_ed25519"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "awx-ee-test", "-f", str(key)], check=True)
        self.key = key.read_text()
        self.public = (tmp_path / "id_ed25519.pub").read_text()
        self.names = []

    def start(self, name):
        subprocess.run(["podman", "rm", "-f", name], capture_output=True, check=False)
        if subprocess.run(["podman", "network", "exists", NETWORK], check=False).returncode != 0:
            subprocess.run(["podman", "network", "create", NETWORK], capture_output=True, check=True)
        self.names.append(name)
        subprocess.run(["podman", "run", "-d", "--name", name, "--hostname", name, "--privileged", "--systemd", "always",
                        "--network", NETWORK, BASE_IMAGE, "/sbin/init"], capture_output=True, check=True)
        # Boot first (its clean-up of /tmp breaks apt's signature checks), then apt, waiting for the boot's apt jobs.
        setup = ("for i in $(seq 120); do case $(systemctl is-system-running --wait 2>/dev/null) in running|degraded) break;;"
                 " esac; sleep 1; done; apt-get -o DPkg::Lock::Timeout=300 update -q"
                 " && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -yq --no-install-recommends"
                 " openssh-server && install -d -m 0700 /root/.ssh && cat > /root/.ssh/authorized_keys"
                 " && systemctl enable --now ssh")
        proc = subprocess.run(["podman", "exec", "-i", name, "sh", "-c", setup], input=self.public,
                              capture_output=True, text=True, timeout=600, check=False)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]

    def stop(self):
        for name in self.names:
            subprocess.run(["podman", "rm", "-f", name], capture_output=True, check=False)
        subprocess.run(["podman", "network", "rm", NETWORK], capture_output=True, check=False)


@pytest.fixture
def ssh_hosts(ee_image, tmp_path):
    keys_before = subprocess.run(["sysctl", "-n"] + list(HOST_KEYS), capture_output=True, text=True, check=True).stdout.split()
    hosts = SshHosts(tmp_path)
    try:
        yield hosts
    finally:
        hosts.stop()
        for name, value in zip(HOST_KEYS, keys_before):
            subprocess.run(["sysctl", "-q", "-w", "%s=%s" % (name, value)], check=False)


def ssh_project(tmp_path, group, group_vars, vault):
    """A project as AWX checks it out: the collection's playbooks, group vars beside them, a vault file."""
    pdd = str(tmp_path / "job")
    project = os.path.join(pdd, "project")
    shutil.copytree(os.path.join(ROOT, "playbooks"), os.path.join(project, "playbooks"))
    os.makedirs(os.path.join(project, "playbooks", "group_vars", group))
    with open(os.path.join(project, "playbooks", "group_vars", group, "main.yml"), "w") as f:
        yaml.safe_dump(group_vars, f)
    vault_password = secrets.token_urlsafe(16)
    write_vault(pdd, group, vault, vault_password)
    return pdd, vault_password


def write_vault(pdd, group, data, vault_password):
    path = os.path.join(pdd, "project", "playbooks", "group_vars", group, "vault.yml")
    with open(path, "w") as f:
        yaml.safe_dump(data, f)
    pw_file = os.path.join(os.path.dirname(pdd), "vault-pass")
    with open(pw_file, "w") as f:
        f.write(vault_password)
    vault = os.path.join(os.path.dirname(sys.executable), "ansible-vault")
    subprocess.run([vault, "encrypt", "--vault-password-file", pw_file, path],
                   capture_output=True, check=True)
    os.remove(pw_file)


def launch(ee_image, pdd, playbook, ident, answers, hidden, survey):
    """One launch of a job template: survey answers checked against the survey, then the job, then its events."""
    with open(os.path.join(ROOT, "extras", "awx", "surveys", survey + ".json")) as f:
        questions = {q["variable"]: q for q in json.load(f)["spec"]}
    for variable, value in answers.items():
        assert variable in questions and value in questions[variable].get("choices", [value]), variable
    with open(os.path.join(pdd, "env", "extravars"), "w") as f:
        yaml.safe_dump(answers, f)
    proc, artifacts = awx_job.run_job(ee_image, pdd, playbook, ident, network=NETWORK, timeout=1200)
    kept = awx_job.read_tree(artifacts, skip=("command",))
    write_log("awx-job-%s.log" % ident, proc.stdout + proc.stderr)
    assert_no_secrets(proc.stdout + proc.stderr + kept, hidden, "the %s job's output and events" % playbook)
    with open(os.path.join(artifacts, "status")) as f:
        assert f.read().strip() == "successful", proc.stdout[-4000:]
    events = awx_job.job_events(artifacts)
    stats = events[-1]["event_data"]
    assert events[-1]["event"] == "playbook_on_stats" and stats["failures"] == {} and stats["dark"] == {}
    return events, stats


def versions():
    with open(os.path.join(ROOT, "scripts", "versions.env")) as f:
        env = dict(line.strip().split("=", 1) for line in f if "=" in line and not line.startswith("#"))
    return env["LIVEKIT_SERVER_PREVIOUS_VERSION"].lstrip("v"), env["LIVEKIT_SERVER_VERSION"].lstrip("v")


def test_deploy_job_template_over_ssh(ee_image, ssh_hosts, tmp_path):
    """The deploy job template: site.yml from the EE over SSH (machine credential), secrets from a vault
    (vault credential), a second launch changes nothing."""
    ssh_hosts.start(HOST)
    redis_password = secrets.token_urlsafe(24)
    pdd, vault_password = ssh_project(tmp_path, "livekit_redis", {
        "node_tuning_profile": "redis", "redis_maxmemory": "64mb", "redis_password": "{{ vault_redis_password }}"},
        {"vault_redis_password": redis_password})
    awx_job.private_data_dir(pdd, {}, "[livekit_redis]\n%s\n" % HOST, {}, {})
    awx_job.machine_credential(pdd, ssh_hosts.key, "root", vault_password)
    hidden = [redis_password, vault_password, ssh_hosts.key.strip().splitlines()[1]]
    _events, stats = launch(ee_image, pdd, "playbooks/site.yml", "3", {}, hidden, "site")
    assert stats["changed"].get(HOST, 0) > 0
    events, stats = launch(ee_image, pdd, "playbooks/site.yml", "4", {}, hidden, "site")
    assert stats["changed"] == {}, "the second launch changed: %s" % [
        e["event_data"]["task"] for e in events if e["event"] == "runner_on_ok" and e["event_data"]["res"].get("changed")]
    ping = subprocess.run(["podman", "exec", "-e", "REDISCLI_AUTH=" + redis_password, HOST, "redis-cli", "-h", HOST, "ping"],
                          capture_output=True, text=True, check=False)
    assert ping.stdout.strip() == "PONG", ping.stdout + ping.stderr


def test_sfu_job_templates_over_ssh(ee_image, ssh_hosts, tmp_path):
    """deploy, rotate API keys (add, remove) and upgrade livekit-server, launched with their survey answers."""
    host = "awx-ee-sfu-1"
    previous, current = versions()
    binaries = {v: os.path.join(os.environ.get("RTCSTACK_CACHE", os.path.expanduser("~/.cache/rtcstack")),
                                "livekit-v%s" % v, "server") for v in (previous, current)}
    missing = [b for b in binaries.values() if not os.path.isfile(b)]
    assert not missing, "scripts/bootstrap.sh builds %s" % missing
    ssh_hosts.start(host)
    old, new = "APIawxOld01", "APIawxNew01"
    old_secret, new_secret = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    pdd, vault_password = ssh_project(tmp_path, "livekit_sfu", {
        "livekit_server_version": previous,
        "livekit_server_install_method": "controller",
        "livekit_server_binary_src": "{{ playbook_dir }}/../files/livekit-server-{{ livekit_server_version }}",
        "livekit_server_rtc_port_range_start": 50000, "livekit_server_rtc_port_range_end": 50100,
        "livekit_server_drain_timeout": 60, "livekit_server_health_delay": 1,
        "livekit_api_keys": "{{ vault_livekit_api_keys }}", "livekit_api_keys_next": "{{ vault_livekit_api_keys_next }}",
    }, {"vault_livekit_api_keys": {old: old_secret}, "vault_livekit_api_keys_next": {new: new_secret}})
    os.makedirs(os.path.join(pdd, "project", "files"))
    for version, path in binaries.items():
        shutil.copyfile(path, os.path.join(pdd, "project", "files", "livekit-server-" + version))
    awx_job.private_data_dir(pdd, {}, "[livekit_sfu]\n%s\n" % host, {}, {})
    awx_job.machine_credential(pdd, ssh_hosts.key, "root", vault_password)
    hidden = [old_secret, new_secret, vault_password, ssh_hosts.key.strip().splitlines()[1]]

    def key_ids():
        out = subprocess.run(["podman", "exec", host, "sh", "-c", "cut -d: -f1 /etc/livekit/keys.yaml"],
                             capture_output=True, text=True, check=True).stdout
        return sorted(line.strip() for line in out.splitlines() if line.strip() and not line.startswith("#"))

    def installed():
        return subprocess.run(["podman", "exec", host, "/usr/local/bin/livekit-server", "--version"],
                              capture_output=True, text=True, check=True).stdout.strip()

    launch(ee_image, pdd, "playbooks/site.yml", "5", {}, hidden, "site")
    assert key_ids() == [old] and installed().endswith(previous)
    launch(ee_image, pdd, "playbooks/rotate_keys.yml", "6", {"rotate_keys_phase": "add"}, hidden, "rotate_keys")
    assert key_ids() == sorted([old, new])
    launch(ee_image, pdd, "playbooks/rotate_keys.yml", "7", {"rotate_keys_phase": "remove", "rotate_keys_old": old},
           hidden, "rotate_keys")
    assert key_ids() == [new]
    # the operator makes the new key the only one in the vault (docs/tokens-and-keys.md), then upgrades
    write_vault(pdd, "livekit_sfu", {"vault_livekit_api_keys": {new: new_secret}, "vault_livekit_api_keys_next": {}},
                vault_password)
    subprocess.run(["chown", "-R", "1000:0", pdd], check=True)
    _events, stats = launch(ee_image, pdd, "playbooks/upgrade.yml", "8", {"livekit_server_version": current}, hidden,
                            "upgrade")
    assert installed().endswith(current) and key_ids() == [new]
