"""The OpenStack test control plane itself (scripts/local_openstack.py): servers are really
scheduled onto the two fake computes, ports are bound, floating IPs go ACTIVE, and a stop leaves no
process or port behind (checked by the fixture, read from the host)."""

import json
import os
import stat
import time

import pytest


def wait_server(cloud, name, want, timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        server = cloud.openstack("server", "show", name)
        if server["status"] in want or time.monotonic() > deadline:
            return server
        time.sleep(1)


@pytest.fixture(scope="module", autouse=True)
def leave_the_project_empty(openstack_cloud):
    """Remove what these tests create: test_openstack_provision.py, in the same session, starts from an empty project."""
    yield
    cloud = openstack_cloud
    for fip in cloud.openstack("floating ip", "list"):
        cloud.openstack("floating ip", "delete", fip["ID"], out=False, check=False)
    servers = [s["ID"] for s in cloud.openstack("server", "list")]
    if servers:
        cloud.openstack("server", "delete", "--wait", *servers, out=False, check=False, timeout=300)
    cloud.openstack("router", "remove", "subnet", "t-router", "t-subnet", out=False, check=False)
    for args in (("router", "delete", "t-router"), ("port", "delete", "t-port"), ("server group", "delete", "aa-sfu"),
                 ("network", "delete", "t-net"), ("network", "delete", "aa-net")):
        cloud.openstack(*args, out=False, check=False)
    left = {"servers": cloud.openstack("server", "list"), "routers": cloud.openstack("router", "list"),
            "server_groups": cloud.openstack("server group", "list"),
            "networks": [n for n in cloud.openstack("network", "list") if n["Name"] != cloud.info["external_network"]]}
    assert not any(left.values()), left


def test_clouds_yaml_is_private(openstack_cloud):
    info = openstack_cloud.info
    mode = stat.S_IMODE(os.stat(info["clouds_yaml"]).st_mode)
    assert mode == 0o600
    with open(os.path.join(info["dir"], "passwords.json")) as f:
        passwords = json.load(f).values()
    with open(os.path.join(info["dir"], "cloud.json")) as f:
        published = f.read()
    for password in passwords:
        assert password not in openstack_cloud.output
        assert password not in published
    hypervisors = openstack_cloud.openstack("hypervisor", "list")
    assert sorted(h["Hypervisor Hostname"] for h in hypervisors) == sorted(info["computes"])


def test_server_active_with_floating_ip(openstack_cloud):
    cloud, info = openstack_cloud, openstack_cloud.info
    cloud.openstack("network", "create", "t-net")
    cloud.openstack("subnet", "create", "t-subnet", "--network", "t-net", "--subnet-range", "10.50.0.0/24")
    cloud.openstack("router", "create", "t-router", "--external-gateway", info["external_network"])
    cloud.openstack("router", "add", "subnet", "t-router", "t-subnet", out=False)
    port = cloud.openstack("port", "create", "t-port", "--network", "t-net")
    server = cloud.openstack("server", "create", "t-server", "--flavor", info["flavor"], "--image", info["image"],
                             "--port", "t-port", "--wait", timeout=240)
    assert server["status"] == "ACTIVE"
    assert server["OS-EXT-SRV-ATTR:host"] in info["computes"]
    port = cloud.openstack("port", "show", port["id"])
    assert port["binding_vif_type"] == "ovs"
    assert port["status"] == "ACTIVE"
    fip = cloud.openstack("floating ip", "create", info["external_network"], "--port", port["id"])
    fip = cloud.openstack("floating ip", "show", fip["id"])
    assert fip["status"] == "ACTIVE"
    assert fip["floating_ip_address"].startswith("203.0.113.")
    cloud.openstack("floating ip", "unset", "--port", fip["id"], out=False)
    assert cloud.openstack("floating ip", "show", fip["id"])["status"] == "DOWN"


def test_anti_affinity_uses_both_computes(openstack_cloud):
    cloud, info = openstack_cloud, openstack_cloud.info
    cloud.openstack("network", "create", "aa-net")
    cloud.openstack("subnet", "create", "aa-subnet", "--network", "aa-net", "--subnet-range", "10.51.0.0/24")
    group = cloud.openstack("server group", "create", "aa-sfu", "--policy", "anti-affinity")
    hosts = []
    for i in (1, 2):
        server = cloud.openstack("server", "create", "aa-%d" % i, "--flavor", info["flavor"], "--image", info["image"],
                                 "--network", "aa-net", "--hint", "group=%s" % group["id"], "--wait", timeout=240)
        assert server["status"] == "ACTIVE"
        hosts.append(server["OS-EXT-SRV-ATTR:host"])
    assert sorted(hosts) == sorted(info["computes"])
    # A third member has no compute left: the scheduler really refuses it.
    cloud.openstack("server", "create", "aa-3", "--flavor", info["flavor"], "--image", info["image"],
                    "--network", "aa-net", "--hint", "group=%s" % group["id"])
    server = wait_server(cloud, "aa-3", ("ERROR", "ACTIVE"))
    assert server["status"] == "ERROR"
    assert "No valid host" in str(server.get("fault"))
