"""playbooks/provision.yml (role openstack_infra) on the real OpenStack test control plane (tests/e2e/openstack_cloud.py).

The lab-shaped plan (tests/e2e/openstack_plan) is provisioned; the security groups read back from neutron must equal
the deployment model that site.yml sees through the dynamic inventory, rule for rule; anti-affinity really placed
the SFUs on the two computes; the public nodes have ACTIVE floating IPs; a rerun and check mode change nothing; the
preflight stops before creating anything; the teardown removes what the deployment owns and nothing else.
The fake virt driver boots no VM: site.yml itself cannot run on these servers (only --list-hosts, --syntax-check
and the deployment model, which needs no connection).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest
from conftest import COLLECTIONS, ROOT, assert_no_secrets, write_log

BIN = os.path.dirname(sys.executable)
PLAN = os.path.join(ROOT, "tests", "e2e", "openstack_plan")
PLAYBOOKS = os.path.join(COLLECTIONS, "ansible_collections", "rtcstack", "livekit", "playbooks")
NAME = "rtcstack-e2e"
GROUPS = {"livekit_redis": ["os-redis-1", "os-redis-2", "os-redis-3"], "livekit_sfu": ["os-sfu-1", "os-sfu-2"],
          "livekit_turn": ["os-turn-1"], "livekit_proxy": ["os-proxy-1"], "livekit_monitoring": ["os-monitoring-1"]}
PUBLIC = ["os-proxy-1", "os-sfu-1", "os-sfu-2", "os-turn-1"]
TIMES = {}


class Run:
    def __init__(self, proc, seconds):
        # out is what a reader sees (the log); stdout alone is what a JSON reader parses: a library's warning
        # (e.g. a cryptography deprecation on import) goes to stderr.
        self.rc, self.stdout, self.out, self.seconds = proc.returncode, proc.stdout, proc.stdout + proc.stderr, seconds
        recap = re.search(r"localhost\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", self.out)
        self.changed = int(recap.group(2)) if recap else None


@pytest.fixture(scope="module")
def plan(openstack_cloud, tmp_path_factory):
    """The plan inventory with the test cloud's flavor, image, external network and a fresh public key."""
    probe = subprocess.run([sys.executable, "-c", "import openstack"], capture_output=True, text=True, check=False)
    assert probe.returncode == 0, "openstacksdk is missing from the venv (requirements.txt pins openstacksdk<4.15)"
    info = openstack_cloud.info
    d = str(tmp_path_factory.mktemp("osplan"))
    shutil.copy(os.path.join(PLAN, "hosts.yml"), d)
    os.makedirs(os.path.join(d, "group_vars"))
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "e2e", "-f", os.path.join(d, "key")], check=True)
    with open(os.path.join(d, "key.pub")) as f:
        public_key = f.read().strip()
    with open(os.path.join(PLAN, "group_vars", "all.yml")) as f:
        group_vars = f.read()
    group_vars += "\n".join([
        "openstack_infra_cloud: %s" % info["cloud"],
        "openstack_infra_external_network: %s" % info["external_network"],
        "openstack_infra_flavor: %s" % info["flavor"],
        "openstack_infra_image: %s" % info["image"],
        "openstack_infra_public_key: %s" % json.dumps(public_key),
        "openstack_infra_inventory_path: openstack.yml",
        "openstack_infra_server_timeout: 180", ""])
    with open(os.path.join(d, "group_vars", "all.yml"), "w") as f:
        f.write(group_vars)
    with open(os.path.join(info["dir"], "passwords.json")) as f:
        secrets = list(json.load(f).values())
    return {"dir": d, "hosts": os.path.join(d, "hosts.yml"), "inventory": os.path.join(d, "openstack.yml"), "secrets": secrets,
            "cloud": openstack_cloud}


def env(plan):
    e = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0",
             ANSIBLE_INVENTORY_UNPARSED_WARNING="0", ANSIBLE_PYTHON_INTERPRETER=sys.executable,
             OS_CLIENT_CONFIG_FILE=plan["cloud"].info["clouds_yaml"])
    return e


def run(plan, argv, name, extra_env=None, timeout=900):
    t = time.monotonic()
    proc = subprocess.run(argv, env=dict(env(plan), **(extra_env or {})), capture_output=True, text=True, timeout=timeout,
                          check=False, cwd=plan["dir"])
    result = Run(proc, round(time.monotonic() - t, 1))
    write_log("openstack-%s.log" % name, result.out)
    assert_no_secrets(result.out, plan["secrets"], name)
    TIMES[name] = result.seconds
    return result


def provision(plan, name, *args):
    return run(plan, [os.path.join(BIN, "ansible-playbook"), "-i", plan["hosts"], os.path.join(PLAYBOOKS, "provision.yml")]
               + list(args), name)


def project(cloud):
    """What the project holds (the external network and the default security group are the control plane's)."""
    return {
        "servers": sorted(s["Name"] for s in cloud.openstack("server", "list")),
        "networks": sorted(n["Name"] for n in cloud.openstack("network", "list")),
        "routers": sorted(r["Name"] for r in cloud.openstack("router", "list")),
        "security_groups": sorted(s["Name"] for s in cloud.openstack("security", "group", "list")),
        "server_groups": sorted(g["Name"] for g in cloud.openstack("server", "group", "list")),
        "floating_ips": sorted(f["Floating IP Address"] for f in cloud.openstack("floating", "ip", "list")),
        "keypairs": sorted(k["Name"] for k in cloud.openstack("keypair", "list")),
    }


EMPTY = {"servers": [], "networks": ["rtcstack-external"], "routers": [], "security_groups": ["default"], "server_groups": [],
         "floating_ips": [], "keypairs": []}


def test_preflight_stops_before_anything_is_created(plan):
    cloud = plan["cloud"]
    assert project(cloud) == EMPTY
    # An entry that is not in clouds.yaml, and one whose password is wrong.
    r = provision(plan, "preflight-no-entry", "-e", "openstack_infra_cloud=nowhere")
    assert r.rc != 0 and "Cloud nowhere was not found" in r.out
    clouds = os.path.join(plan["dir"], "clouds-bad.yaml")
    with open(cloud.info["clouds_yaml"]) as f:
        text = f.read().replace("rtcstack-test:", "rtcstack-bad:", 1)
    text = re.sub(r'password: ".*"', 'password: "wrong-password-e2e"', text)
    with open(clouds, "w") as f:
        f.write(text)
    os.chmod(clouds, 0o600)
    r = run(plan, [os.path.join(BIN, "ansible-playbook"), "-i", plan["hosts"], os.path.join(PLAYBOOKS, "provision.yml"),
                   "-e", "openstack_infra_cloud=rtcstack-bad"], "preflight-bad-password", {"OS_CLIENT_CONFIG_FILE": clouds})
    assert r.rc != 0 and "cannot log in to cloud 'rtcstack-bad'" in r.out
    assert "wrong-password-e2e" not in r.out
    # A flavor and an image that do not exist.
    r = provision(plan, "preflight-flavor", "-e", "openstack_infra_flavor=no-such-flavor", "-e",
                  "openstack_infra_image=no-such-image")
    assert r.rc != 0
    assert "flavor 'no-such-flavor' (of os-redis-1) was not found" in r.out and "image 'no-such-image'" in r.out
    # A quota too small for the plan (asked from the cloud: 8 servers, 4 floating IPs).
    cloud.openstack("quota", "set", "--instances", "5", "--floating-ips", "2", "admin", out=False)
    try:
        r = provision(plan, "preflight-quota")
    finally:
        cloud.openstack("quota", "set", "--instances", "10", "--floating-ips", "50", "admin", out=False)
    assert r.rc != 0
    assert "quota instances: the plan needs 8 more, the project has 5 left" in r.out
    assert "quota floating_ips: the plan needs 4 more, the project has 2 left" in r.out
    # A name taken by a resource the deployment does not own.
    cloud.openstack("security", "group", "create", NAME + "-sfu", "--description", "someone else's")
    try:
        r = provision(plan, "preflight-collision")
    finally:
        cloud.openstack("security", "group", "delete", NAME + "-sfu", out=False)
    assert r.rc != 0 and "a security group named rtcstack-e2e-sfu exists and is not this deployment's" in r.out
    assert project(cloud) == EMPTY


def test_check_mode_on_an_empty_project_reports_and_creates_nothing(plan):
    r = provision(plan, "check-empty", "--check")
    assert r.rc == 0, r.out[-3000:]
    assert r.changed and r.changed > 5
    assert project(plan["cloud"]) == EMPTY


def test_provision(plan):
    r = provision(plan, "provision")
    assert r.rc == 0, r.out[-4000:]
    got = project(plan["cloud"])
    assert got["servers"] == sorted(h for hosts in GROUPS.values() for h in hosts)
    assert got["security_groups"] == sorted(["default"] + ["%s-%s" % (NAME, g[len("livekit_"):]) for g in GROUPS])
    assert got["server_groups"] == [NAME + "-redis", NAME + "-sfu"]
    assert got["networks"] == sorted(["rtcstack-external", NAME + "-net"]) and got["routers"] == [NAME + "-router"]
    assert len(got["floating_ips"]) == len(PUBLIC) and got["keypairs"] == [NAME]


def servers(cloud):
    return {s["name"]: s for s in (cloud.openstack("server", "show", n) for n in sorted(h for v in GROUPS.values() for h in v))}


def test_anti_affinity_and_floating_ips(plan):
    cloud = plan["cloud"]
    shown = servers(cloud)
    assert all(s["status"] == "ACTIVE" for s in shown.values())
    sfu_hosts = [shown[h]["OS-EXT-SRV-ATTR:host"] for h in GROUPS["livekit_sfu"]]
    assert sorted(sfu_hosts) == sorted(cloud.info["computes"])  # strict anti-affinity: one SFU per compute
    redis_hosts = {shown[h]["OS-EXT-SRV-ATTR:host"] for h in GROUPS["livekit_redis"]}
    assert redis_hosts == set(cloud.info["computes"])  # soft anti-affinity: three members over both computes
    fips = {f["Floating IP Address"]: f for f in cloud.openstack("floating", "ip", "list")}
    for name, server in shown.items():
        addresses = json.dumps(server["addresses"])
        floating = [ip for ip in fips if ip in addresses]
        if name in PUBLIC:
            assert len(floating) == 1, name
            assert cloud.openstack("floating", "ip", "show", floating[0])["status"] == "ACTIVE"
        else:
            assert floating == [], name
        assert "rtcstack_deployment" in json.dumps(server.get("properties")), server


def inventory(plan):
    r = run(plan, [os.path.join(BIN, "ansible-inventory"), "-i", plan["inventory"], "--list"], "inventory")
    assert r.rc == 0, r.out
    return unwrap(json.loads(r.stdout))


def unwrap(value):
    """ansible-inventory --list writes inventory plugin values as {"__ansible_unsafe": value}."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def test_dynamic_inventory_feeds_site_yml(plan):
    inv = inventory(plan)
    for group, hosts in GROUPS.items():
        assert sorted(inv[group]["hosts"]) == hosts, group
    hostvars = inv["_meta"]["hostvars"]
    for host in (h for v in GROUPS.values() for h in v):
        hv = hostvars[host]
        assert hv["private_ip"].startswith("10.42.0.")
        if host in PUBLIC:
            assert hv["ansible_host"].startswith("203.0.113.")
        else:
            assert hv["ansible_host"] == hv["private_ip"]
    assert hostvars["os-sfu-1"]["livekit_server_node_ip"] == hostvars["os-sfu-1"]["ansible_host"]
    assert hostvars["os-turn-1"]["coturn_external_ips"] == ["%s/%s" % (hostvars["os-turn-1"]["ansible_host"],
                                                                       hostvars["os-turn-1"]["private_ip"])]
    assert hostvars["os-redis-1"]["redis_mode"] == "sentinel"  # the plan's group_vars next to openstack.yml apply
    site = os.path.join(PLAYBOOKS, "site.yml")
    r = run(plan, [os.path.join(BIN, "ansible-playbook"), "-i", plan["inventory"], site, "--syntax-check"], "site-syntax")
    assert r.rc == 0, r.out
    r = run(plan, [os.path.join(BIN, "ansible-playbook"), "-i", plan["inventory"], site, "--list-hosts"], "site-list-hosts")
    assert r.rc == 0, r.out
    hosts = list_hosts(r.out)
    assert hosts["livekit_sfu"] == GROUPS["livekit_sfu"]
    assert hosts["livekit_redis"] == GROUPS["livekit_redis"]
    assert hosts["livekit_turn"] == GROUPS["livekit_turn"]
    assert len(hosts["livekit_redis:livekit_turn:livekit_sfu:livekit_proxy:livekit_ingress:livekit_egress:livekit_loadgen:"
                     "livekit_monitoring"]) == 8


def list_hosts(out):
    """pattern -> sorted hosts of each play of ansible-playbook --list-hosts."""
    plays, current, collecting = {}, None, False
    for line in out.splitlines():
        m = re.match(r"\s+play #\d+ \(([^)]*)\):", line)
        if m:
            current, collecting = m.group(1), False
            plays[current] = []
        elif current and re.match(r"\s+hosts \(\d+\):", line):
            collecting = True
        elif collecting and line.strip():
            plays[current].append(line.strip())
        else:
            collecting = False
    return {k: sorted(v) for k, v in plays.items()}


def model_through_inventory(plan):
    """The deployment model as site.yml's preflight builds it from the dynamic inventory (no connection needed)."""
    book = os.path.join(plan["dir"], "model.yml")
    with open(book, "w") as f:
        f.write("- hosts: %s\n  gather_facts: false\n  tasks:\n    - rtcstack.livekit.deployment:\n" % GROUPS["livekit_sfu"][0])
    r = run(plan, [os.path.join(BIN, "ansible-playbook"), "-i", plan["inventory"], book], "model",
            {"ANSIBLE_LOAD_CALLBACK_PLUGINS": "1", "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json"})
    assert r.rc == 0, r.out
    result = json.loads(r.stdout[r.stdout.index("{"):])["plays"][0]["tasks"][0]["hosts"][GROUPS["livekit_sfu"][0]]
    return result["ansible_facts"]["livekit_deployment"]


def cloud_rules(cloud, sg_ids):
    """Ingress rules of each deployment security group as (proto, min, max, remote) read from neutron."""
    names = {v: k for k, v in sg_ids.items()}
    out = {}
    for name, sg_id in sg_ids.items():
        rules = cloud.openstack("security", "group", "rule", "list", sg_id, "--long")
        out[name] = sorted(
            (r["IP Protocol"], r["Port Range"], names.get(r.get("Remote Security Group")) or r["IP Range"])
            for r in rules if r["Direction"] == "ingress")
    return out


def expected_rules(model, group, sg_of_group):
    """The rules the model's exposed entries of a group's first host give (the test's own translation)."""
    want = {("icmp", "", "0.0.0.0/0")}
    host = GROUPS[group][0]
    for e in model["ports"][host]:
        if not e["expose"]:
            continue
        ports = "%d:%d" % (e["start"], e["end"])
        for source in e["from"]:
            if source == "any":
                want.add((e["proto"], ports, "0.0.0.0/0"))
            elif source == "private":
                want.add((e["proto"], ports, "10.42.0.0/24"))
            else:
                target = model["sources"][source]["group"]
                if model["sources"][source]["hosts"]:
                    want.add((e["proto"], ports, sg_of_group[target]))
    return sorted(want)


def test_security_groups_equal_the_model_rule_for_rule(plan):
    cloud = plan["cloud"]
    model = model_through_inventory(plan)
    assert model["problems"] == []
    sg_of_group = {g: "%s-%s" % (NAME, g[len("livekit_"):]) for g in GROUPS}
    sg_ids = {s["Name"]: s["ID"] for s in cloud.openstack("security", "group", "list") if s["Name"] in sg_of_group.values()}
    got = cloud_rules(cloud, sg_ids)
    for group, sg in sg_of_group.items():
        assert got[sg] == expected_rules(model, group, sg_of_group), sg
        # every host of the group has the same ports (one security group serves them all)
        for host in GROUPS[group][1:]:
            assert model["ports"][host] == model["ports"][GROUPS[group][0]]
    # what the model keeps internal is never open to the world, and ports the model does not list have no rule
    assert ("tcp", "6379:6379", NAME + "-sfu") in got[NAME + "-redis"]
    assert not [r for r in got[NAME + "-redis"] if r[2] == "0.0.0.0/0" and r[0] != "icmp" and r[1] != "22:22"]
    assert ("tcp", "6789:6789", NAME + "-monitoring") in got[NAME + "-sfu"]
    for sg, rules in got.items():
        for _proto, ports, _source in rules:
            if ports:
                low, high = (int(p) for p in ports.split(":"))
                assert not low <= 8080 <= high and not (sg != NAME + "-monitoring" and low <= 9090 <= high), (sg, ports)
    # each server carries exactly its group's security group (not the project's default one)
    for name, server in servers(cloud).items():
        group = next(g for g, hosts in GROUPS.items() if name in hosts)
        assert [s["name"] for s in server["security_groups"]] == [sg_of_group[group]], name


def test_rerun_changes_nothing(plan):
    r = provision(plan, "rerun")
    assert r.rc == 0, r.out[-3000:]
    assert r.changed == 0, re.findall(r"changed: \[.*", r.out)


def test_check_mode_after_provision_changes_nothing(plan):
    before = project(plan["cloud"])
    r = provision(plan, "check-provisioned", "--check", "--diff")
    assert r.rc == 0, r.out[-3000:]
    assert r.changed == 0, re.findall(r"changed: \[.*", r.out)
    assert project(plan["cloud"]) == before


def test_loadgen_fleet_joins_the_inventory_and_leaves_with_its_cost(plan):
    cloud = plan["cloud"]
    before = project(cloud)
    fleet = os.path.join(PLAYBOOKS, "loadgen_fleet.yml")

    def fleet_run(name, *extra):
        return run(plan, [os.path.join(BIN, "ansible-playbook"), "-i", plan["inventory"], fleet] + list(extra), name)

    try:
        r = fleet_run("fleet", "-e", "loadgen_fleet_size=2")
        assert r.rc == 0, r.out[-3000:]
        generators = [NAME + "-loadgen-1", NAME + "-loadgen-2"]
        inv = inventory(plan)
        assert sorted(inv["livekit_loadgen"]["hosts"]) == generators
        for host in generators:
            assert inv["_meta"]["hostvars"][host]["ansible_host"].startswith("203.0.113.")
        monitoring = inv["_meta"]["hostvars"]["os-monitoring-1"]["private_ip"]
        sg = NAME + "-loadgen-loadgen"
        sg_id = next(s["ID"] for s in cloud.openstack("security", "group", "list") if s["Name"] == sg)
        assert cloud_rules(cloud, {sg: sg_id})[sg] == sorted([
            ("icmp", "", "0.0.0.0/0"), ("tcp", "22:22", "0.0.0.0/0"), ("tcp", "9100:9100", monitoring + "/32")])
        r = fleet_run("fleet-rerun", "-e", "loadgen_fleet_size=2")
        assert r.rc == 0 and r.changed == 0, re.findall(r"changed: \[.*", r.out)
    finally:
        # The fleet leaves even when a check above failed: the next tests count the project's servers.
        removed = fleet_run("fleet-absent", "-e", "loadgen_fleet_state=absent")
    assert removed.rc == 0, removed.out[-3000:]
    assert re.search(r"2 generator\(s\) removed after [0-9.]+ server-minutes in all", removed.out), removed.out[-2000:]
    assert project(cloud) == before  # the main deployment untouched


def test_teardown_removes_only_what_the_deployment_owns(plan):
    cloud = plan["cloud"]
    info = cloud.info
    # Someone else's server and security group in the same project
    cloud.openstack("network", "create", "other-net")
    cloud.openstack("subnet", "create", "other-subnet", "--network", "other-net", "--subnet-range", "10.77.0.0/24")
    cloud.openstack("security", "group", "create", "other-sg")
    cloud.openstack("server", "create", "other-server", "--flavor", info["flavor"], "--image", info["image"], "--network",
                    "other-net", "--security-group", "other-sg", "--wait", timeout=240)
    r = provision(plan, "check-absent", "--check", "-e", "openstack_infra_state=absent")
    assert r.rc == 0 and r.changed and r.changed > 0
    assert len(project(cloud)["servers"]) == 9
    r = provision(plan, "teardown", "-e", "openstack_infra_state=absent")
    assert r.rc == 0, r.out[-3000:]
    left = project(cloud)
    assert left == dict(EMPTY, servers=["other-server"], networks=sorted(["rtcstack-external", "other-net"]),
                        security_groups=["default", "other-sg"])
    r = provision(plan, "teardown-rerun", "-e", "openstack_infra_state=absent")
    assert r.rc == 0 and r.changed == 0
    cloud.openstack("server", "delete", "other-server", "--wait", out=False, timeout=240)
    cloud.openstack("security", "group", "delete", "other-sg", out=False)
    cloud.openstack("network", "delete", "other-net", out=False)
    assert project(cloud) == EMPTY
    write_log("openstack-times.json", json.dumps(TIMES, indent=2))
