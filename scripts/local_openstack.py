"""Start and stop a real OpenStack control plane for the tests, all on 127.0.0.1.

    local_openstack.py start [--dir /tmp/rtcstack-openstack] [--port-base 25000]
    local_openstack.py stop [--dir /tmp/rtcstack-openstack]
    local_openstack.py status [--dir /tmp/rtcstack-openstack]

The services come from scripts/build-openstack.sh (one venv, cached by series). ``start`` makes a
MariaDB of its own (data, socket and log under DIR) and a RabbitMQ of its own (with its own epmd),
syncs the databases, bootstraps keystone, and runs keystone, placement, glance, neutron and the
nova API each under uWSGI (every response says ``Connection: close``: uWSGI's http-socket has no
keep-alive), nova-conductor, nova-scheduler and two nova-compute processes with the fake virt
driver (compute1, compute2). neutron runs ML2 without agents, with our plugins from
scripts/openstack_plugins. It then makes a flavor, an image and an external network for the
tests, writes DIR/clouds.yaml (mode 0600, cloud ``rtcstack-test``) and prints DIR/cloud.json's
content (no password) as its last line. ``stop`` stops exactly the processes ``start`` started,
by PID, MariaDB and RabbitMQ included; the data stay under DIR until the next start.
"""

import argparse
import concurrent.futures
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time

from harness import (
    cache_dir,
    fresh_state_dir,
    load_state,
    report_status,
    run_action,
    save_state,
    start_or_undo,
    versions,
    wait_for,
)

CLOUD = "rtcstack-test"
REGION = "RegionOne"
COMPUTES = ("compute1", "compute2")
# Ports relative to --port-base.
PORTS = {"keystone": 0, "glance": 292, "mariadb": 306, "epmd": 369, "placement": 778, "nova": 774,
         "neutron": 696, "rabbit": 672, "rabbit_dist": 673}
APIS = {  # name: (wsgi module, config env prefix, service type, user)
    "keystone": ("keystone.wsgi.api:application", "OS_KEYSTONE", "identity", None),
    "placement": ("placement.wsgi.api:application", "OS_PLACEMENT", "placement", "placement"),
    "glance": ("glance.wsgi.api:application", "OS_GLANCE", "image", "glance"),
    "neutron": ("neutron.wsgi.api:application", "OS_NEUTRON", "network", "neutron"),
    "nova": ("nova.wsgi.osapi_compute:application", "OS_NOVA", "compute", "nova"),
}
DATABASES = ("keystone", "placement", "glance", "neutron", "nova_api", "nova", "nova_cell0")
# Stop order: the reverse of the start order.
ORDER = ("mariadb", "epmd", "rabbit", "keystone", "placement", "glance", "neutron", "nova", "nova-conductor",
         "nova-scheduler") + tuple("nova-compute-%s" % c for c in COMPUTES)
FLAVOR = "rtcstack.small"
IMAGE = "rtcstack-debian12"
EXTERNAL = "rtcstack-external"
EXTERNAL_CIDR = "203.0.113.0/24"


def venv_dir():
    return os.path.join(cache_dir(), "openstack-%s" % versions()["OPENSTACK_SERIES"])


def binaries():
    venv = venv_dir()
    out = {b: os.path.join(venv, "bin", b) for b in ("python", "uwsgi", "keystone-manage", "nova-manage", "nova-conductor",
                                                     "nova-scheduler", "nova-compute", "neutron-db-manage",
                                                     "placement-manage", "glance-manage")}
    out.update({"mariadbd": "/usr/sbin/mariadbd", "mariadb-install-db": "/usr/bin/mariadb-install-db", "mysql": "/usr/bin/mysql",
                "epmd": "/usr/bin/epmd", "rabbitmq-server": "/usr/lib/rabbitmq/bin/rabbitmq-server"})
    missing = [p for p in out.values() if not os.access(p, os.X_OK)]
    if missing:
        raise SystemExit("missing: %s: run scripts/build-openstack.sh first" % ", ".join(missing))
    return out


def write(path, text, mode=0o600):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def run(argv, log=None, check=True, env=None, timeout=600):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, timeout=timeout,
                       stdin=subprocess.DEVNULL, check=False)
    if log:
        with open(log, "a") as f:
            f.write(r.stdout)
    if check and r.returncode != 0:
        raise SystemExit("%s failed (exit %d)%s" % (os.path.basename(argv[0]), r.returncode, ", see %s" % log if log else ""))
    return r


def spawn(argv, log, env=None):
    out = open(log, "ab")  # noqa: SIM115 (the child keeps it as stdout)
    return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True, env=env).pid


def stat(pid):
    """(process group, start time in clock ticks) of a running pid, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] == "Z" else (int(fields[2]), int(fields[19]))


def members(pid, since):
    """The live processes of the group that pid leads (its own session), started no earlier than it.

    Programs change their argv (rabbitmq-server execs beam.smp, nova sets process titles) and the
    leader may be gone while its children run: the group and the start time identify them."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = stat(int(entry))
            if st and st[0] == pid and st[1] >= since:
                out.append(int(entry))
    return out


def kill(pid, since, timeout=15.0):
    """Stop the process group pid leads: SIGTERM, then SIGKILL after timeout."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        procs = members(pid, since)
        if not procs:
            return
        for p in procs:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and members(pid, since):
            time.sleep(0.1)


def port_open(port):
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


# --- configuration --------------------------------------------------------------------------------

def ini(sections):
    lines = []
    for name, values in sections.items():
        lines.append("[%s]" % name)
        lines += ["%s = %s" % (k, v) for k, v in values.items()]
        lines.append("")
    return "\n".join(lines)


def authtoken(url, user, password):
    return {"auth_type": "password", "auth_url": url, "www_authenticate_uri": url, "username": user, "password": password,
            "project_name": "service", "user_domain_name": "Default", "project_domain_name": "Default",
            "region_name": REGION}


def configs(d, ports, pw, venv):
    """Every service's configuration file, by path."""
    db = "mysql+pymysql://rtcstack:%s@127.0.0.1:%d/%%s?charset=utf8" % (pw["db"], ports["mariadb"])
    rabbit = "rabbit://rtcstack:%s@127.0.0.1:%d/" % (pw["rabbit"], ports["rabbit"])
    kurl = "http://127.0.0.1:%d/v3" % ports["keystone"]
    common = {"debug": "false", "use_stderr": "true", "transport_url": rabbit, "state_path": os.path.join(d, "state")}
    lock = {"lock_path": os.path.join(d, "lock")}
    out = {}
    out["keystone/keystone.conf"] = ini({
        "DEFAULT": {"debug": "false", "use_stderr": "true"},
        "database": {"connection": db % "keystone"},
        "token": {"provider": "fernet"},
        "fernet_tokens": {"key_repository": os.path.join(d, "keystone", "fernet-keys")},
        "fernet_receipts": {"key_repository": os.path.join(d, "keystone", "fernet-keys")},
        "credential": {"key_repository": os.path.join(d, "keystone", "credential-keys")},
    })
    out["placement/placement.conf"] = ini({
        "DEFAULT": {"debug": "false", "use_stderr": "true"},
        "placement_database": {"connection": db % "placement"},
        "api": {"auth_strategy": "keystone"},
        "keystone_authtoken": authtoken(kurl, "placement", pw["service"]),
    })
    out["glance/glance-api.conf"] = ini({
        "DEFAULT": {"debug": "false", "use_stderr": "true", "enabled_backends": "fs:file", "bind_host": "127.0.0.1",
                    "bind_port": str(ports["glance"]), "worker_self_reference_url": "http://127.0.0.1:%d" % ports["glance"]},
        "database": {"connection": db % "glance"},
        "keystone_authtoken": authtoken(kurl, "glance", pw["service"]),
        "paste_deploy": {"flavor": "keystone", "config_file": os.path.join(venv, "etc", "glance", "glance-api-paste.ini")},
        "glance_store": {"default_backend": "fs"},
        "fs": {"filesystem_store_datadir": os.path.join(d, "state", "glance", "images")},
        "os_glance_staging_store": {"filesystem_store_datadir": os.path.join(d, "state", "glance", "staging")},
        "os_glance_tasks_store": {"filesystem_store_datadir": os.path.join(d, "state", "glance", "tasks")},
        "oslo_concurrency": lock,
    })
    out["neutron/neutron.conf"] = ini({
        "DEFAULT": dict(common, core_plugin="ml2", service_plugins="rtcstack_l3", auth_strategy="keystone",
                        api_paste_config=os.path.join(venv, "etc", "neutron", "api-paste.ini"),
                        notify_nova_on_port_status_changes="true", notify_nova_on_port_data_changes="true",
                        allow_overlapping_ips="true", dhcp_agent_notification="false", api_workers="1", rpc_workers="0"),
        "database": {"connection": db % "neutron"},
        "keystone_authtoken": authtoken(kurl, "neutron", pw["service"]),
        "nova": authtoken(kurl, "nova", pw["service"]),
        "oslo_concurrency": lock,
        "ml2": {"type_drivers": "flat,vxlan", "tenant_network_types": "vxlan", "mechanism_drivers": "rtcstack_bind_all",
                "extension_drivers": "port_security"},
        "ml2_type_flat": {"flat_networks": "external"},
        "ml2_type_vxlan": {"vni_ranges": "1:1000"},
        "securitygroup": {"enable_security_group": "true"},
    })
    nova = {
        "DEFAULT": dict(common, compute_driver="fake.FakeDriver", my_ip="127.0.0.1", graceful_shutdown_timeout="5",
                        instances_path=os.path.join(d, "state", "nova", "instances")),
        "api": {"auth_strategy": "keystone"},
        "wsgi": {"api_paste_config": os.path.join(venv, "etc", "nova", "api-paste.ini")},
        "api_database": {"connection": db % "nova_api"},
        "database": {"connection": db % "nova"},
        "keystone_authtoken": authtoken(kurl, "nova", pw["service"]),
        "service_user": dict(authtoken(kurl, "nova", pw["service"]), **{"send_service_user_token": "true"}),
        "placement": authtoken(kurl, "placement", pw["service"]),
        "neutron": authtoken(kurl, "neutron", pw["service"]),
        "glance": {"region_name": REGION},
        "conductor": {"workers": "1"},
        "scheduler": {"workers": "1", "discover_hosts_in_cells_interval": "5"},
        "vnc": {"enabled": "false"},
        "oslo_concurrency": lock,
        "oslo_messaging_notifications": {"driver": "noop"},
    }
    out["nova/nova.conf"] = ini(nova)
    for c in COMPUTES:
        out["nova/%s.conf" % c] = ini({"DEFAULT": {"host": c, "state_path": os.path.join(d, "state", c),
                                                   "instances_path": os.path.join(d, "state", c, "instances")}})
    return {os.path.join(d, "etc", k): v for k, v in out.items()}


def clouds_yaml(ports, password, project="admin"):
    return """clouds:
  {cloud}:
    auth:
      auth_url: http://127.0.0.1:{port}/v3
      username: admin
      password: "{password}"
      project_name: {project}
      user_domain_name: Default
      project_domain_name: Default
    region_name: {region}
    interface: public
    identity_api_version: 3
""".format(cloud=CLOUD, port=ports["keystone"], password=password, project=project, region=REGION)


# --- start ----------------------------------------------------------------------------------------

def start(args):
    return start_or_undo(_start, stop, args)


def _start(args):
    d = fresh_state_dir(args, stop, "etc", "an OpenStack")
    bins = binaries()
    venv = venv_dir()
    ports = {k: args.port_base + v for k, v in PORTS.items()}
    busy = [str(p) for p in ports.values() if port_open(p)]
    if busy:
        raise SystemExit("ports in use: %s: another control plane runs, or pick another --port-base" % ", ".join(busy))
    t0 = time.monotonic()
    timings = {}
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d, mode=0o700)
    logs = os.path.join(d, "logs")
    for sub in ("logs", "lock", "state", "etc"):
        os.makedirs(os.path.join(d, sub), mode=0o700, exist_ok=True)
    pw = {k: secrets.token_urlsafe(18) for k in ("db", "rabbit", "admin", "service")}
    write(os.path.join(d, "passwords.json"), json.dumps(pw))
    state = {"pids": {}, "started": {}, "ports": ports}
    save_state(d, state)
    files = configs(d, ports, pw, venv)
    for path, text in files.items():
        write(path, text)
    etc = os.path.join(d, "etc")
    env = dict(os.environ, PATH="%s:/usr/sbin:/usr/bin:/sbin:/bin" % os.path.join(venv, "bin"))

    def launch(name, argv, environ=None):
        pid = spawn(argv, os.path.join(logs, name + ".log"), env=environ or env)
        state["pids"][name] = pid
        state["started"][name] = stat(pid)[1]
        save_state(d, state)

    def lap(name, since):
        timings[name] = round(time.monotonic() - since, 1)

    # MariaDB: its own data dir, socket and loopback port.
    t = time.monotonic()
    mdata, sock = os.path.join(d, "mysql"), os.path.join(d, "mysql.sock")
    run([bins["mariadb-install-db"], "--no-defaults", "--datadir=" + mdata, "--user=root", "--skip-test-db",
         "--auth-root-authentication-method=socket"], os.path.join(logs, "mariadb-install-db.log"))
    launch("mariadb", [bins["mariadbd"], "--no-defaults", "--datadir=" + mdata, "--socket=" + sock, "--user=root",
                       "--port=%d" % ports["mariadb"], "--bind-address=127.0.0.1", "--skip-name-resolve",
                       "--pid-file=" + os.path.join(d, "mariadb.pid"), "--max-connections=500",
                       "--innodb-buffer-pool-size=128M", "--innodb-flush-log-at-trx-commit=0", "--innodb-doublewrite=0",
                       "--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci"])

    # RabbitMQ: its own epmd, node name, data, config and cookie; every listener on loopback.
    rdir = os.path.join(d, "rabbitmq")
    os.makedirs(rdir, mode=0o700)
    write(os.path.join(rdir, "rabbitmq.conf"), "listeners.tcp.default = 127.0.0.1:%d\nloopback_users = none\n"
          "default_user = rtcstack\ndefault_pass = %s\nmanagement_agent.disable_metrics_collector = true\n"
          % (ports["rabbit"], pw["rabbit"]))
    write(os.path.join(rdir, "enabled_plugins"), "[].\n")
    write(os.path.join(rdir, "rabbitmq-env.conf"), "")
    write(os.path.join(rdir, ".erlang.cookie"), secrets.token_hex(16), mode=0o400)
    renv = dict(env, HOME=rdir, ERL_EPMD_PORT=str(ports["epmd"]), ERL_EPMD_ADDRESS="127.0.0.1",
                RABBITMQ_NODENAME="rtcstack@localhost", RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
                RABBITMQ_NODE_PORT=str(ports["rabbit"]), RABBITMQ_DIST_PORT=str(ports["rabbit_dist"]),
                RABBITMQ_CONFIG_FILE=os.path.join(rdir, "rabbitmq"),
                RABBITMQ_CONF_ENV_FILE=os.path.join(rdir, "rabbitmq-env.conf"),
                RABBITMQ_ENABLED_PLUGINS_FILE=os.path.join(rdir, "enabled_plugins"),
                RABBITMQ_MNESIA_BASE=os.path.join(rdir, "mnesia"), RABBITMQ_LOG_BASE=os.path.join(rdir, "log"),
                RABBITMQ_PID_FILE=os.path.join(rdir, "rabbit.pid"), RABBITMQ_LOGS="-",
                RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}")
    launch("epmd", [bins["epmd"], "-address", "127.0.0.1", "-port", str(ports["epmd"])], environ=renv)
    wait_for(lambda: port_open(ports["epmd"]), "epmd", 20, logs)
    launch("rabbit", [bins["rabbitmq-server"]], environ=renv)

    wait_for(lambda: os.path.exists(sock) and port_open(ports["mariadb"]), "mariadb", 120, logs)
    sql = ["CREATE DATABASE %s;" % db for db in DATABASES]
    sql += ["CREATE USER 'rtcstack'@'127.0.0.1' IDENTIFIED BY '%s';" % pw["db"],
            "GRANT ALL PRIVILEGES ON *.* TO 'rtcstack'@'127.0.0.1';"]
    r = subprocess.run([bins["mysql"], "--no-defaults", "-uroot", "--socket=" + sock], input="\n".join(sql), text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    if r.returncode != 0:
        raise SystemExit("creating the databases failed: %s" % r.stdout.replace(pw["db"], "***")[-500:])
    lap("mariadb", t)

    # Database schemas, keystone first in its own chain, the others beside it (two cores).
    t = time.monotonic()
    kconf = ["--config-file", os.path.join(etc, "keystone", "keystone.conf")]
    nconf = ["--config-file", os.path.join(etc, "nova", "nova.conf")]
    kurl = "http://127.0.0.1:%d/v3/" % ports["keystone"]

    def keystone_chain():
        klog = os.path.join(logs, "keystone-manage.log")
        run([bins["keystone-manage"]] + kconf + ["db_sync"], klog, env=env)
        for step in ("fernet_setup", "credential_setup"):
            run([bins["keystone-manage"]] + kconf + [step, "--keystone-user", "root", "--keystone-group", "root"], klog, env=env)
        # The password goes by environment, not argv (which ps shows).
        run([bins["keystone-manage"]] + kconf + ["bootstrap", "--bootstrap-admin-url", kurl, "--bootstrap-public-url", kurl,
                                                 "--bootstrap-internal-url", kurl, "--bootstrap-region-id", REGION],
            klog, env=dict(env, OS_BOOTSTRAP_PASSWORD=pw["admin"]))

    def nova_chain():
        nlog = os.path.join(logs, "nova-manage.log")
        run([bins["nova-manage"]] + nconf + ["api_db", "sync"], nlog, env=env)
        run([bins["nova-manage"]] + nconf + ["cell_v2", "map_cell0"], nlog, env=env)
        run([bins["nova-manage"]] + nconf + ["cell_v2", "create_cell", "--name", "cell1"], nlog, env=env)
        run([bins["nova-manage"]] + nconf + ["db", "sync"], nlog, env=env)

    def others_chain():
        run([bins["placement-manage"], "--config-file", os.path.join(etc, "placement", "placement.conf"), "db", "sync"],
            os.path.join(logs, "placement-manage.log"), env=env)
        run([bins["glance-manage"], "--config-file", os.path.join(etc, "glance", "glance-api.conf"), "db_sync"],
            os.path.join(logs, "glance-manage.log"), env=env)
        run([bins["neutron-db-manage"], "--config-file", os.path.join(etc, "neutron", "neutron.conf"), "upgrade", "heads"],
            os.path.join(logs, "neutron-db-manage.log"), env=env)

    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        for f in [pool.submit(keystone_chain), pool.submit(nova_chain), pool.submit(others_chain)]:
            f.result()
    lap("db_sync", t)

    # The APIs, each under uWSGI on loopback.
    t = time.monotonic()
    for name, (module, prefix, _kind, _user) in APIS.items():
        conf_dir = os.path.join(etc, name)
        conf_files = [name + ".conf"]
        if name == "nova":  # nova's WSGI app reads its paste file from the config dir, named first
            shutil.copy(os.path.join(venv, "etc", "nova", "api-paste.ini"), conf_dir)
            conf_files.insert(0, "api-paste.ini")
        elif name == "glance":
            conf_files = ["glance-api.conf"]
        argv = [bins["uwsgi"], "--http-socket", "127.0.0.1:%d" % ports[name], "--module", module, "--master",
                "--processes", "1", "--threads", "4", "--need-app", "--die-on-term", "--lazy-apps",
                "--buffer-size", "65535", "--add-header", "Connection: close", "--hook-master-start",
                "unix_signal:15 gracefully_kill_them_all", "--env", "%s_CONFIG_DIR=%s" % (prefix, conf_dir),
                "--env", "%s_CONFIG_FILES=%s" % (prefix, ";".join(conf_files))]
        if name == "glance":
            argv += ["--http-chunked-input", "--http-raw-body", "--chunked-input-limit", "10000000", "--http-auto-chunked"]
        launch(name, argv)
        if name == "keystone":
            wait_for(lambda: http_status(ports["keystone"], "/v3") == 200, "keystone", 60, logs)
            write(os.path.join(d, "clouds.yaml"), clouds_yaml(ports, pw["admin"]))
            setup(d, "identity", bins)
            lap("keystone", t)
    launch("nova-conductor", [bins["nova-conductor"]] + nconf)
    launch("nova-scheduler", [bins["nova-scheduler"]] + nconf)
    for c in COMPUTES:
        launch("nova-compute-%s" % c, [bins["nova-compute"]] + nconf + ["--config-file", os.path.join(etc, "nova", c + ".conf")])
    for name in APIS:
        wait_for(lambda name=name: (http_status(ports[name], "/") or 999) < 500, name, 90, logs)
    lap("apis", t)
    t = time.monotonic()
    setup(d, "resources", bins)
    lap("computes_and_resources", t)
    timings["total"] = round(time.monotonic() - t0, 1)
    info = {"dir": d, "clouds_yaml": os.path.join(d, "clouds.yaml"), "cloud": CLOUD, "region": REGION,
            "auth_url": kurl.rstrip("/"), "flavor": FLAVOR, "image": IMAGE, "external_network": EXTERNAL,
            "computes": list(COMPUTES), "ports": ports, "bringup_seconds": timings}
    write(os.path.join(d, "cloud.json"), json.dumps(info, indent=2))
    state["info"] = info
    save_state(d, state)
    print(json.dumps(info))
    return 0


def http_status(port, path):
    with socket.socket() as s:
        s.settimeout(5)
        try:
            s.connect(("127.0.0.1", port))
            s.sendall(("GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" % path).encode())
            head = s.recv(64).decode("latin-1")
        except OSError:
            return None
    parts = head.split()
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


def setup(d, phase, bins):
    """Run a phase of _setup in the services' venv, where openstacksdk is."""
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=os.path.join(d, "clouds.yaml"))
    r = subprocess.run([bins["python"], os.path.abspath(__file__), "_setup", phase, "--dir", d], env=env, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300, check=False)
    with open(os.path.join(d, "logs", "setup.log"), "a") as f:
        f.write(r.stdout)
    if r.returncode != 0:
        raise SystemExit("setup %s failed: %s" % (phase, r.stdout[-2000:]))


def _setup(args):
    """Inside the services' venv: keystone's service users and endpoints, then the test resources."""
    import openstack  # noqa: PLC0415 (only in the services' venv)

    d = os.path.abspath(args.dir)
    state = load_state(d)
    ports = state["ports"]
    with open(os.path.join(d, "passwords.json")) as f:
        pw = json.load(f)
    conn = openstack.connect(cloud=CLOUD)
    if args.phase == "identity":
        service_project = conn.identity.create_project(name="service", domain_id="default")
        admin_role = conn.identity.find_role("admin")
        service_role = conn.identity.find_role("service") or conn.identity.create_role(name="service")
        for name, (_module, _prefix, kind, user) in APIS.items():
            if user is None:
                continue
            u = conn.identity.create_user(name=user, password=pw["service"], domain_id="default")
            for role in (admin_role, service_role):
                conn.identity.assign_project_role_to_user(service_project, u, role)
            svc = conn.identity.create_service(name=name, type=kind)
            url = "http://127.0.0.1:%d" % ports[name]
            if name == "nova":
                url += "/v2.1"
            for interface in ("public", "internal", "admin"):
                conn.identity.create_endpoint(service_id=svc.id, interface=interface, url=url, region_id=REGION)
        return 0
    # Both computes registered, mapped to cell1 and known to placement.
    deadline = time.monotonic() + 180
    while True:
        hosts = sorted(s.host for s in conn.compute.services(binary="nova-compute") if s.state == "up")
        if hosts == sorted(COMPUTES):
            break
        if time.monotonic() > deadline:
            raise SystemExit("computes up: %s, want %s" % (hosts, list(COMPUTES)))
        time.sleep(1)
    nova_manage = os.path.join(os.path.dirname(sys.executable), "nova-manage")
    conf = os.path.join(d, "etc", "nova", "nova.conf")
    while True:
        subprocess.run([nova_manage, "--config-file", conf, "cell_v2", "discover_hosts"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
        hypervisors = sorted(h.name for h in conn.compute.hypervisors())
        providers = sorted(p.name for p in conn.placement.resource_providers())
        if hypervisors == sorted(COMPUTES) and providers == sorted(COMPUTES):
            break
        if time.monotonic() > deadline:
            raise SystemExit("hypervisors %s, resource providers %s, want %s" % (hypervisors, providers, list(COMPUTES)))
        time.sleep(1)
    conn.compute.create_flavor(name=FLAVOR, ram=512, vcpus=1, disk=1, is_public=True)
    image = conn.image.create_image(name=IMAGE, disk_format="raw", container_format="bare", visibility="public",
                                    data=b"\0" * 4096, allow_duplicates=True)
    conn.image.wait_for_status(image, status="active", wait=60)
    net = conn.network.create_network(name=EXTERNAL, is_router_external=True, is_shared=False,
                                      provider_network_type="flat", provider_physical_network="external")
    conn.network.create_subnet(network_id=net.id, name=EXTERNAL + "-subnet", ip_version=4, cidr=EXTERNAL_CIDR,
                               gateway_ip="203.0.113.1", is_dhcp_enabled=False)
    return 0


# --- stop and status ------------------------------------------------------------------------------

def stop(args, quiet=False):
    d = os.path.abspath(args.dir)
    state = load_state(d)
    if state is None:
        if not quiet:
            print("no OpenStack state in %s" % d)
        return 0
    pids, started = state.get("pids", {}), state.get("started", {})
    # The OpenStack services together, then RabbitMQ and epmd, then MariaDB.
    for wave in ([n for n in ORDER if n not in ("mariadb", "epmd", "rabbit")], ["rabbit", "epmd"], ["mariadb"]):
        names = [n for n in wave if pids.get(n)]
        with concurrent.futures.ThreadPoolExecutor(max(1, len(names))) as pool:
            for f in [pool.submit(kill, pids[n], started[n], 30 if n in ("rabbit", "mariadb") else 10) for n in names]:
                f.result()
    left = ["%s (pid %d)" % (n, p) for n, p in pids.items() if members(p, started[n])]
    if left:
        raise SystemExit("still running: %s" % ", ".join(left))
    os.unlink(os.path.join(d, "state.json"))
    if not quiet:
        print("stopped: %s" % ", ".join(n for n in ORDER if n in pids))
    return 0


def status(args):
    return report_status(args, lambda name, pid, state: members(pid, state["started"][name]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["start", "stop", "status", "_setup"])
    parser.add_argument("phase", nargs="?", choices=["identity", "resources"], help=argparse.SUPPRESS)
    parser.add_argument("--dir", default="/tmp/rtcstack-openstack",  # noqa: S108 (root's own state dir, mode 0700)
                        help="state directory (configuration, data, logs, clouds.yaml)")
    parser.add_argument("--port-base", type=int, default=25000, help="ports used: BASE .. BASE+778 on 127.0.0.1")
    args = parser.parse_args(argv)
    if args.action == "_setup":
        return _setup(args)
    return run_action(args, {"start": start, "stop": stop, "status": status}, "MariaDB and RabbitMQ run as root here")


if __name__ == "__main__":
    sys.exit(main())
