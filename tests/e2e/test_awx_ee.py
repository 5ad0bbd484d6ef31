"""Job templates as AWX runs them: ansible-runner inside the execution environment (`make ee` builds it).

Each job gets a private data directory laid out as AWX lays it out (tests/e2e/awx_job.py): the project
checkout, an inventory, the survey answers as extra vars, and the "LiveKit API" credential injected by its
own injectors (extras/awx/credential_type_livekit_api.yml) as environment variables. The EE runs
`ansible-runner run` without a TTY against the real test server; the test reads the artifacts AWX reads
(status, rc, job_events/*.json, stdout) and checks that no secret is in them.
"""

import os
import secrets
import shutil
import subprocess

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


@pytest.fixture
def ssh_host(ee_image, tmp_path):
    """A Debian 12 systemd host with sshd on a podman network of its own: what AWX reaches over SSH."""
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "awx-ee-test", "-f", str(key)], check=True)
    keys_before = subprocess.run(["sysctl", "-n"] + list(HOST_KEYS), capture_output=True, text=True, check=True).stdout.split()
    subprocess.run(["podman", "rm", "-f", HOST], capture_output=True, check=False)
    if subprocess.run(["podman", "network", "exists", NETWORK], check=False).returncode != 0:
        subprocess.run(["podman", "network", "create", NETWORK], capture_output=True, check=True)
    try:
        subprocess.run(["podman", "run", "-d", "--name", HOST, "--hostname", HOST, "--privileged", "--systemd", "always",
                        "--network", NETWORK, BASE_IMAGE, "/sbin/init"], capture_output=True, check=True)
        # apt waits for the lock of the boot's own apt jobs
        setup = ("systemctl is-system-running --wait >/dev/null; apt-get -o DPkg::Lock::Timeout=300 update -q"
                 " && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -yq --no-install-recommends"
                 " openssh-server && install -d -m 0700 /root/.ssh && cat > /root/.ssh/authorized_keys"
                 " && systemctl enable --now ssh")
        proc = subprocess.run(["podman", "exec", "-i", HOST, "sh", "-c", setup], input=(tmp_path / "id_ed25519.pub").read_text(),
                              capture_output=True, text=True, timeout=600, check=False)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        yield key.read_text()
    finally:
        subprocess.run(["podman", "rm", "-f", HOST], capture_output=True, check=False)
        subprocess.run(["podman", "network", "rm", NETWORK], capture_output=True, check=False)
        for name, value in zip(HOST_KEYS, keys_before):
            subprocess.run(["sysctl", "-q", "-w", "%s=%s" % (name, value)], check=False)


def test_deploy_job_template_over_ssh(ee_image, ssh_host, tmp_path):
    """The deploy job template: site.yml from the EE over SSH (machine credential), secrets from a vault
    (vault credential), a second launch changes nothing."""
    pdd = str(tmp_path / "job")
    redis_password = secrets.token_urlsafe(24)
    vault_password = secrets.token_urlsafe(16)
    project = os.path.join(pdd, "project")
    shutil.copytree(os.path.join(ROOT, "playbooks"), os.path.join(project, "playbooks"))
    group_vars = os.path.join(project, "playbooks", "group_vars", "livekit_redis")
    os.makedirs(group_vars)
    with open(os.path.join(group_vars, "main.yml"), "w") as f:
        f.write("node_tuning_profile: redis\nredis_maxmemory: 64mb\nredis_password: '{{ vault_redis_password }}'\n")
    vault_file = os.path.join(group_vars, "vault.yml")
    with open(vault_file, "w") as f:
        f.write("vault_redis_password: %s\n" % redis_password)
    pw_file = tmp_path / "vault-pass"
    pw_file.write_text(vault_password)
    subprocess.run([shutil.which("ansible-vault") or "ansible-vault", "encrypt", "--vault-password-file", str(pw_file),
                    vault_file], capture_output=True, check=True)
    awx_job.private_data_dir(pdd, {}, "[livekit_redis]\n%s\n" % HOST, {}, {})
    awx_job.machine_credential(pdd, ssh_host, "root", vault_password)
    hidden = [redis_password, vault_password, ssh_host.strip().splitlines()[1]]
    for ident in ("3", "4"):
        proc, artifacts = awx_job.run_job(ee_image, pdd, "playbooks/site.yml", ident, network=NETWORK, timeout=1200)
        kept = awx_job.read_tree(artifacts, skip=("command",))
        write_log("awx-site-%s.log" % ident, proc.stdout + proc.stderr)
        assert_no_secrets(proc.stdout + proc.stderr + kept, hidden, "the site.yml job's output and events")
        with open(os.path.join(artifacts, "status")) as f:
            assert f.read().strip() == "successful", proc.stdout[-4000:]
        events = awx_job.job_events(artifacts)
        stats = events[-1]["event_data"]
        assert events[-1]["event"] == "playbook_on_stats" and stats["failures"] == {} and stats["dark"] == {}
        assert HOST in stats["ok"]
        if ident == "3":
            assert stats["changed"].get(HOST, 0) > 0
        else:
            assert stats["changed"] == {}, "the second launch changed: %s" % [
                e["event_data"]["task"] for e in events if e["event"] == "runner_on_ok" and e["event_data"]["res"].get("changed")]
    ping = subprocess.run(["podman", "exec", "-e", "REDISCLI_AUTH=" + redis_password, HOST, "redis-cli", "-h", HOST, "ping"],
                          capture_output=True, text=True, check=False)
    assert ping.stdout.strip() == "PONG", ping.stdout + ping.stderr
