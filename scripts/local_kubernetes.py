"""Start and stop a real single-node Kubernetes for the tests, and leave the host as it was found.

    local_kubernetes.py start [--dir /tmp/rtcstack-k8s]
    local_kubernetes.py stop [--dir /tmp/rtcstack-k8s]
    local_kubernetes.py status [--dir /tmp/rtcstack-k8s]

The binaries come from scripts/build-kubernetes.sh (cached by version). ``start`` makes a veth
pair whose host end (NODE_IP) is the node address, its peer in a network namespace of its own,
certificates with openssl, and starts etcd, kube-apiserver, kube-controller-manager,
kube-scheduler, containerd (own config, root and state under DIR), kubelet and kube-proxy
(nftables), imports the local images, waits for the node to be Ready and the default
ServiceAccount, and prints DIR/cluster.json (kubeconfig path, node address, image names).
``stop`` removes the pods' containers, stops exactly the processes it started (by PID), deletes
kube-proxy's nftables tables, the CNI bridge, the veth and the namespace, unmounts what is left
under DIR and restores the host sysctls recorded before the start (the kubelet changes some, and so does
the node tuning DaemonSet of roles/k8s_node_tuning).
"""

import argparse
import contextlib
import ipaddress
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

import yaml
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

NODE = "rtcstack-node"
VETH = "rtck8s0"
NETNS = "rtcstack-k8s"
BRIDGE = "rtck8sbr0"
CNI_NETWORK = "rtcstack-k8s"
NODE_NET = "10.206.0.0/30"
POD_NET = "10.207.0.0/24"
SERVICE_NET = "10.208.0.0/24"
# Host-wide settings the components may change; recorded before start, restored by stop.
SYSCTLS = ("vm.overcommit_memory", "kernel.panic", "kernel.panic_on_oops", "net.ipv4.ip_forward",
           "net.netfilter.nf_conntrack_max", "net.netfilter.nf_conntrack_tcp_timeout_established",
           "net.netfilter.nf_conntrack_tcp_timeout_close_wait", "net.ipv4.conf.all.route_localnet",
           "net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-ip6tables")


def tuning_keys():
    """Keys the node tuning DaemonSet (roles/k8s_node_tuning) may write on the node: those of every profile table
    of the node_tuning role, and the reserved ports. Recorded and restored like the kubelet's."""
    with open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "roles", "node_tuning", "vars",
                           "main.yml")) as f:
        tables = yaml.safe_load(f)
    keys = {k for name in ("_node_tuning_common", "_node_tuning_media", "_node_tuning_redis", "_node_tuning_loadgen")
            for k in tables[name]}
    return tuple(sorted(keys | {"net.ipv4.ip_local_reserved_ports"}))


SYSCTLS = SYSCTLS + tuple(k for k in tuning_keys() if k not in SYSCTLS)
# Host paths the kubelet writes to whatever its configuration says: removed by stop when they did not exist.
HOST_DIRS = ("/var/log/containers", "/var/log/pods", "/var/lib/cni")
# Where the running cluster keeps its state, for a start that finds one running.
MARK = "/run/rtcstack-k8s.dir"
ORDER = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "containerd", "kubelet", "kube-proxy")


def images():
    v = versions()
    out = {"pause": v["K8S_PAUSE_IMAGE"], "livekit": "%s:%s" % (v["K8S_LIVEKIT_IMAGE_NAME"], v["LIVEKIT_SERVER_VERSION"]),
           "redis": v["K8S_REDIS_IMAGE"], "coturn": v["K8S_COTURN_IMAGE"]}
    # The previous release (the rolling-upgrade test), built only where its binary is (RTCSTACK_ROLE_TESTS != 0).
    previous = "%s:%s" % (v["K8S_LIVEKIT_IMAGE_NAME"], v["LIVEKIT_SERVER_PREVIOUS_VERSION"])
    if os.path.exists(image_tar(previous)):
        out["livekit_previous"] = previous
    return out


def image_tar(image):
    return os.path.join(cache_dir(), "k8s-images", image.replace("/", "_").replace(":", "_") + ".tar")


def binaries():
    v = versions()
    kdir = os.path.join(cache_dir(), "kubernetes-%s" % v["KUBERNETES_VERSION"])
    out = {b: os.path.join(kdir, b) for b in ("kube-apiserver", "kube-controller-manager", "kube-scheduler",
                                              "kubelet", "kube-proxy", "kubectl")}
    out["etcd"] = shutil.which("etcd") or "/usr/bin/etcd"
    out["containerd"] = shutil.which("containerd") or "/usr/bin/containerd"
    out["ctr"] = shutil.which("ctr") or "/usr/bin/ctr"
    missing = [p for p in out.values() if not os.access(p, os.X_OK)]
    missing += [image_tar(i) for i in images().values() if not os.path.exists(image_tar(i))]
    if missing:
        raise SystemExit("missing: %s: run scripts/build-kubernetes.sh first" % ", ".join(missing))
    out["helm"] = os.path.join(cache_dir(), "helm-%s" % v["HELM_VERSION"], "helm")  # for the tests, not the cluster
    return out


def addresses():
    net = ipaddress.ip_network(NODE_NET)
    hosts = list(net.hosts())
    svc = ipaddress.ip_network(SERVICE_NET)
    return str(hosts[0]), str(hosts[1]), str(next(svc.hosts()))


def run(argv, check=True, **kw):
    return subprocess.run(argv, check=check, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def try_run(argv, timeout=30):
    """For stop: a step that fails or hangs must not keep the next ones from running."""
    try:
        return run(argv, check=False, timeout=timeout)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(argv, -1, "timed out")


def read_sysctl(key):
    try:
        with open("/proc/sys/" + key.replace(".", "/")) as f:
            return f.read().strip()
    except OSError:
        return None


def write_sysctl(key, value):
    with open("/proc/sys/" + key.replace(".", "/"), "w") as f:
        f.write(value + "\n")  # "\n" alone empties a list key (ip_local_reserved_ports); "" would write nothing


# --- certificates ---------------------------------------------------------------------------------

def openssl(*args):
    run(["openssl"] + list(args))


def make_certs(pki, node_ip, service_ip):
    os.makedirs(pki, mode=0o700, exist_ok=True)

    def key(name):
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", os.path.join(pki, name + ".key"))

    key("ca")
    openssl("req", "-x509", "-new", "-key", os.path.join(pki, "ca.key"), "-days", "2", "-subj", "/CN=rtcstack-test-ca",
            "-out", os.path.join(pki, "ca.crt"))

    def cert(name, subject, sans=None, usage="clientAuth"):
        key(name)
        csr = os.path.join(pki, name + ".csr")
        openssl("req", "-new", "-key", os.path.join(pki, name + ".key"), "-subj", subject, "-out", csr)
        ext = os.path.join(pki, name + ".ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n")
            f.write("extendedKeyUsage=%s\n" % usage)
            if sans:
                f.write("subjectAltName=%s\n" % ",".join(sans))
        openssl("x509", "-req", "-in", csr, "-CA", os.path.join(pki, "ca.crt"), "-CAkey", os.path.join(pki, "ca.key"),
                "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", os.path.join(pki, name + ".crt"))

    dns = ["kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", NODE]
    ips = [node_ip, service_ip, "127.0.0.1"]
    cert("apiserver", "/CN=kube-apiserver", ["DNS:%s" % x for x in dns] + ["IP:%s" % x for x in ips], usage="serverAuth")
    cert("apiserver-kubelet-client", "/O=system:masters/CN=kube-apiserver-kubelet-client")
    cert("admin", "/O=system:masters/CN=rtcstack-admin")
    cert("controller-manager", "/CN=system:kube-controller-manager")
    cert("scheduler", "/CN=system:kube-scheduler")
    cert("kubelet", "/O=system:nodes/CN=system:node:%s" % NODE)
    cert("kube-proxy", "/CN=system:kube-proxy")
    cert("kubelet-server", "/CN=%s" % NODE, ["DNS:%s" % NODE, "IP:%s" % node_ip], usage="serverAuth")
    key("sa")
    openssl("pkey", "-in", os.path.join(pki, "sa.key"), "-pubout", "-out", os.path.join(pki, "sa.pub"))
    for name in os.listdir(pki):
        os.chmod(os.path.join(pki, name), 0o600)


def kubeconfig(path, pki, user, server):
    text = """apiVersion: v1
kind: Config
clusters:
- name: rtcstack
  cluster:
    certificate-authority: {pki}/ca.crt
    server: {server}
users:
- name: {user}
  user:
    client-certificate: {pki}/{user}.crt
    client-key: {pki}/{user}.key
contexts:
- name: rtcstack
  context:
    cluster: rtcstack
    user: {user}
current-context: rtcstack
""".format(pki=pki, user=user, server=server)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


# --- configuration files --------------------------------------------------------------------------

def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def containerd_config(d, pause_image):
    return """version = 2
root = "{d}/containerd/root"
state = "{d}/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
                    "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = "{d}/containerd/containerd.sock"

[ttrpc]
  address = "{d}/containerd/containerd.sock.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "{d}/containerd/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{pause}"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{d}/cni/net.d"
""".format(d=d, pause=pause_image)


def cni_config(d):
    pods = ipaddress.ip_network(POD_NET)
    return json.dumps({
        "cniVersion": "1.0.0",
        "name": CNI_NETWORK,
        "plugins": [
            {"type": "bridge", "bridge": BRIDGE, "isGateway": True, "ipMasq": False, "hairpinMode": True,
             "ipam": {"type": "host-local", "dataDir": os.path.join(d, "cni", "ipam"),
                      "ranges": [[{"subnet": str(pods), "gateway": str(next(pods.hosts()))}]],
                      "routes": [{"dst": "0.0.0.0/0"}]}},
            {"type": "loopback"},
        ],
    }, indent=2) + "\n"


def kubelet_config(d, pki, node_ip):
    return """apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: {ip}
port: 10250
healthzBindAddress: {ip}
healthzPort: 10248
readOnlyPort: 0
cgroupDriver: cgroupfs
failCgroupV1: false
makeIPTablesUtilChains: false
failSwapOn: false
containerRuntimeEndpoint: unix://{d}/containerd/containerd.sock
podLogsDir: {d}/pod-logs
tlsCertFile: {pki}/kubelet-server.crt
tlsPrivateKeyFile: {pki}/kubelet-server.key
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: {pki}/ca.crt
authorization:
  mode: Webhook
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  imagefs.available: 1%
  nodefs.inodesFree: 1%
serializeImagePulls: false
""".format(d=d, pki=pki, ip=node_ip)


def kube_proxy_config(d, node_ip):
    return """apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: nftables
clientConnection:
  kubeconfig: {d}/kube-proxy.kubeconfig
hostnameOverride: {node}
bindAddress: {ip}
healthzBindAddress: {ip}:10256
metricsBindAddress: {ip}:10249
clusterCIDR: {pods}
nodePortAddresses: [{ip}/32]
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
  udpTimeout: 0s
  udpStreamTimeout: 0s
nftables:
  masqueradeAll: true
""".format(d=d, ip=node_ip, node=NODE, pods=POD_NET)


# --- processes ------------------------------------------------------------------------------------

def spawn(argv, log):
    out = open(log, "ab")  # noqa: SIM115 (the child keeps it as stdout)
    env = dict(os.environ, PATH="/usr/sbin:/usr/bin:/sbin:/bin")
    return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True, env=env).pid


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def program(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().split(b"\0")[0].decode()
    except OSError:
        return None


def kill(pid, timeout=10.0, group=True, binary=None):
    """Stop pid (and its process group); with binary, only while pid still runs that program."""
    if binary is not None and program(pid) != binary:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            (os.killpg if group else os.kill)(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and alive(pid):
            time.sleep(0.1)
        if not alive(pid):
            return


def https_ok(url, pki):
    import ssl
    ctx = ssl.create_default_context(cafile=os.path.join(pki, "ca.crt"))
    ctx.load_cert_chain(os.path.join(pki, "admin.crt"), os.path.join(pki, "admin.key"))
    try:
        with urllib.request.urlopen(url, timeout=2, context=ctx) as r:  # noqa: S310 (the cluster's own apiserver)
            return r.status == 200
    except OSError:
        return False


# --- start / stop ---------------------------------------------------------------------------------

def start(args):
    return start_or_undo(_start, stop, args)


def _start(args):
    d = fresh_state_dir(args, stop, "pki", "a cluster")
    bins = binaries()
    imgs = images()
    if os.path.exists("/sys/class/net/%s" % VETH) or os.path.exists("/run/netns/%s" % NETNS):
        try:
            with open(MARK) as f:
                other = f.read().strip()
        except OSError:
            other = "DIR"
        raise SystemExit("%s or netns %s exists already: a cluster runs, stop it first: local_kubernetes.py stop --dir %s"
                         % (VETH, NETNS, other))
    with open(MARK, "w") as f:
        f.write(d + "\n")
    t0 = time.monotonic()
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d, mode=0o700)
    pki = os.path.join(d, "pki")
    logs = os.path.join(d, "logs")
    os.makedirs(logs)
    node_ip, peer_ip, service_ip = addresses()
    prefix = ipaddress.ip_network(NODE_NET).prefixlen
    state = {"sysctls": {k: read_sysctl(k) for k in SYSCTLS}, "pids": {}, "programs": {}, "node_ip": node_ip,
             "host_dirs": [p for p in HOST_DIRS if not os.path.exists(p)], "cgroups": not cgroups_exist()}
    save_state(d, state)
    # The node address: the host end of a veth pair whose peer lives in a namespace of its own.
    run(["ip", "netns", "add", NETNS])
    state["netns"] = NETNS
    save_state(d, state)
    run(["ip", "link", "add", VETH, "type", "veth", "peer", "name", "eth0", "netns", NETNS])
    state["veth"] = VETH
    save_state(d, state)
    run(["ip", "addr", "add", "%s/%d" % (node_ip, prefix), "dev", VETH])
    run(["ip", "link", "set", VETH, "up"])
    run(["ip", "-n", NETNS, "addr", "add", "%s/%d" % (peer_ip, prefix), "dev", "eth0"])
    run(["ip", "-n", NETNS, "link", "set", "eth0", "up"])

    make_certs(pki, node_ip, service_ip)
    server = "https://%s:6443" % node_ip
    for user in ("admin", "controller-manager", "scheduler", "kubelet", "kube-proxy"):
        kubeconfig(os.path.join(d, "%s.kubeconfig" % user), pki, user, server)
    write(os.path.join(d, "containerd", "config.toml"), containerd_config(d, imgs["pause"]))
    write(os.path.join(d, "cni", "net.d", "10-rtcstack.conflist"), cni_config(d))
    write(os.path.join(d, "kubelet.yaml"), kubelet_config(d, pki, node_ip))
    write(os.path.join(d, "kube-proxy.yaml"), kube_proxy_config(d, node_ip))

    def launch(name, argv):
        state["pids"][name] = spawn(argv, os.path.join(logs, name + ".log"))
        state["programs"][name] = argv[0]
        save_state(d, state)

    def log(name):
        return os.path.join(logs, name + ".log")

    launch("containerd", [bins["containerd"], "--config", os.path.join(d, "containerd", "config.toml")])
    launch("etcd", [bins["etcd"], "--name", NODE, "--data-dir", os.path.join(d, "etcd"),
                    "--listen-client-urls", "http://%s:2379" % node_ip, "--advertise-client-urls", "http://%s:2379" % node_ip,
                    "--listen-peer-urls", "http://%s:2380" % node_ip, "--initial-advertise-peer-urls", "http://%s:2380" % node_ip,
                    "--initial-cluster", "%s=http://%s:2380" % (NODE, node_ip), "--log-level", "warn"])
    launch("kube-apiserver", [
        bins["kube-apiserver"], "--etcd-servers", "http://%s:2379" % node_ip,
        "--bind-address", node_ip, "--advertise-address", node_ip, "--secure-port", "6443",
        "--service-cluster-ip-range", SERVICE_NET, "--allow-privileged=true",
        "--authorization-mode", "Node,RBAC", "--client-ca-file", os.path.join(pki, "ca.crt"),
        "--tls-cert-file", os.path.join(pki, "apiserver.crt"), "--tls-private-key-file", os.path.join(pki, "apiserver.key"),
        "--kubelet-client-certificate", os.path.join(pki, "apiserver-kubelet-client.crt"),
        "--kubelet-client-key", os.path.join(pki, "apiserver-kubelet-client.key"),
        "--kubelet-certificate-authority", os.path.join(pki, "ca.crt"),
        "--kubelet-preferred-address-types", "InternalIP",
        "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
        "--service-account-key-file", os.path.join(pki, "sa.pub"),
        "--service-account-signing-key-file", os.path.join(pki, "sa.key"),
        "--enable-admission-plugins", "NodeRestriction", "--profiling=false", "--v=1"])
    wait_for(lambda: https_ok(server + "/readyz", pki), "kube-apiserver at %s" % server, 60, log("kube-apiserver"))
    t_api = time.monotonic() - t0
    launch("kube-controller-manager", [
        bins["kube-controller-manager"], "--kubeconfig", os.path.join(d, "controller-manager.kubeconfig"),
        "--authentication-kubeconfig", os.path.join(d, "controller-manager.kubeconfig"),
        "--authorization-kubeconfig", os.path.join(d, "controller-manager.kubeconfig"),
        "--bind-address", node_ip, "--secure-port", "10257", "--leader-elect=false",
        "--service-account-private-key-file", os.path.join(pki, "sa.key"), "--root-ca-file", os.path.join(pki, "ca.crt"),
        "--cluster-signing-cert-file", os.path.join(pki, "ca.crt"), "--cluster-signing-key-file", os.path.join(pki, "ca.key"),
        "--use-service-account-credentials=true", "--service-cluster-ip-range", SERVICE_NET, "--profiling=false"])
    launch("kube-scheduler", [
        bins["kube-scheduler"], "--kubeconfig", os.path.join(d, "scheduler.kubeconfig"),
        "--authentication-kubeconfig", os.path.join(d, "scheduler.kubeconfig"),
        "--authorization-kubeconfig", os.path.join(d, "scheduler.kubeconfig"),
        "--bind-address", node_ip, "--secure-port", "10259", "--leader-elect=false", "--profiling=false"])
    sock = os.path.join(d, "containerd", "containerd.sock")
    wait_for(lambda: os.path.exists(sock), "containerd", 30, log("containerd"))
    for image in imgs.values():
        run([bins["ctr"], "--address", sock, "-n", "k8s.io", "images", "import", image_tar(image)], timeout=120)
    launch("kubelet", [
        bins["kubelet"], "--config", os.path.join(d, "kubelet.yaml"), "--kubeconfig", os.path.join(d, "kubelet.kubeconfig"),
        "--root-dir", os.path.join(d, "kubelet"), "--cert-dir", os.path.join(d, "kubelet", "pki"),
        "--node-ip", node_ip, "--hostname-override", NODE, "--v=1"])
    launch("kube-proxy", [bins["kube-proxy"], "--config", os.path.join(d, "kube-proxy.yaml"), "--v=1"])
    kubectl = [bins["kubectl"], "--kubeconfig", os.path.join(d, "admin.kubeconfig")]

    def node_ready():
        r = run(kubectl + ["get", "node", NODE, "-o", "jsonpath={.status.conditions[?(@.type=='Ready')].status}"], check=False)
        return r.returncode == 0 and r.stdout.strip() == "True"

    wait_for(node_ready, "node %s Ready" % NODE, 90, log("kubelet"))
    t_node = time.monotonic() - t0
    wait_for(lambda: run(kubectl + ["-n", "default", "get", "serviceaccount", "default"], check=False).returncode == 0,
             "the default ServiceAccount", 60, log("kube-controller-manager"))
    info = {"dir": d, "kubeconfig": os.path.join(d, "admin.kubeconfig"), "server": server, "node": NODE, "node_ip": node_ip,
            "pod_network": POD_NET, "service_network": SERVICE_NET, "images": imgs,
            "kubectl": bins["kubectl"], "helm": bins["helm"],
            "seconds": {"apiserver": round(t_api, 1), "node_ready": round(t_node, 1), "ready": round(time.monotonic() - t0, 1)}}
    with open(os.path.join(d, "cluster.json"), "w") as f:
        json.dump(info, f, indent=2)
    print(json.dumps(info))


def ctr_cleanup(d, ctr):
    sock = os.path.join(d, "containerd", "containerd.sock")
    base = [ctr, "--address", sock, "-n", "k8s.io"]
    r = try_run(base + ["tasks", "ls", "-q"])
    if r.returncode != 0:
        return
    for cid in r.stdout.split():
        try_run(base + ["tasks", "kill", "-s", "SIGKILL", cid])
    deadline = time.monotonic() + 20
    for cid in r.stdout.split():
        while time.monotonic() < deadline and try_run(base + ["tasks", "delete", cid]).returncode != 0:
            time.sleep(0.3)
    for cid in try_run(base + ["containers", "ls", "-q"]).stdout.split():
        try_run(base + ["containers", "delete", cid])


def mounts_under(d):
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].replace("\\040", " ")
            if point == d or point.startswith(d + "/"):
                out.append(point)
    return sorted(out, key=len, reverse=True)


def stop(args, quiet=False):
    d = os.path.abspath(args.dir)
    state = load_state(d)
    if state is None:
        if not quiet:
            print("no cluster state in %s" % d)
        return
    pids = state.get("pids", {})
    kubectl = os.path.join(cache_dir(), "kubernetes-%s" % versions()["KUBERNETES_VERSION"], "kubectl")
    # The pods first, through the kubelet, so that their sandboxes are torn down by CNI.
    if pids.get("kubelet") and alive(pids["kubelet"]) and os.access(kubectl, os.X_OK):
        try_run([kubectl, "--kubeconfig", os.path.join(d, "admin.kubeconfig"), "delete", "pods", "--all", "--all-namespaces",
                 "--grace-period=1", "--timeout=30s", "--wait=true"], timeout=60)
    programs = state.get("programs", {})
    for name in ("kube-proxy", "kubelet"):
        if pids.get(name):
            kill(pids[name], binary=programs.get(name))
    ctr = shutil.which("ctr") or "/usr/bin/ctr"
    if pids.get("containerd") and alive(pids["containerd"]):
        ctr_cleanup(d, ctr)
    for name in ("kube-scheduler", "kube-controller-manager", "kube-apiserver", "containerd", "etcd"):
        if pids.get(name):
            kill(pids[name], binary=programs.get(name))
    # Shims of containers containerd did not get to delete: exactly those serving this state dir.
    sock = os.path.join(d, "containerd", "containerd.sock")
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if os.path.basename(argv[0]) == b"containerd-shim-runc-v2" and sock.encode() in argv:
                kill(int(pid), 5, group=False)
    if state.get("cgroups"):
        kill_cgroup_members()
    try_run(["nft", "delete", "table", "ip", "kube-proxy"])
    try_run(["nft", "delete", "table", "ip6", "kube-proxy"])
    if os.path.exists("/sys/class/net/%s" % BRIDGE):
        try_run(["ip", "link", "delete", BRIDGE])
    if state.get("veth"):
        try_run(["ip", "link", "delete", state["veth"]])
    if state.get("netns"):
        try_run(["ip", "netns", "delete", state["netns"]])
    for point in mounts_under(d):
        try_run(["umount", "-l", point])
    results = "/var/lib/cni/results"
    if os.path.isdir(results):
        for name in os.listdir(results):
            if name.startswith(CNI_NETWORK + "-"):
                os.unlink(os.path.join(results, name))
    for path in state.get("host_dirs", []):
        if os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
    restored = []
    for key, value in state.get("sysctls", {}).items():
        if value is not None and read_sysctl(key) != value:
            write_sysctl(key, value)
            restored.append("%s=%s" % (key, value))
    wrong = ["%s is %s, was %s" % (k, read_sysctl(k), v) for k, v in state.get("sysctls", {}).items()
             if v is not None and read_sysctl(k) != v]
    if state.get("cgroups"):
        deadline = time.monotonic() + 5
        remove_cgroups()
        while cgroups_exist() and time.monotonic() < deadline:
            time.sleep(0.2)
            remove_cgroups()
    os.unlink(os.path.join(d, "state.json"))
    with contextlib.suppress(OSError), open(MARK) as f:
        if f.read().strip() == d:
            os.unlink(MARK)
    if wrong:
        raise SystemExit("host sysctls not restored: %s" % ", ".join(wrong))
    if not quiet:
        stopped = ", ".join(n for n in ORDER if n in pids)
        print("stopped %s; sysctls restored: %s" % (stopped, ", ".join(restored) or "none changed"))


def cgroup_tops():
    root = "/sys/fs/cgroup"
    for controller in sorted(os.listdir(root)) if os.path.isdir(root) else []:
        if not os.path.islink(os.path.join(root, controller)):
            yield os.path.join(root, controller, "kubepods")


def cgroups_exist():
    return any(os.path.isdir(top) for top in cgroup_tops())


def kill_cgroup_members():
    """Processes of pods that outlived their shim, found in the kubelet's cgroups."""
    for top in cgroup_tops():
        for path, _dirs, files in os.walk(top):
            if "cgroup.procs" in files:
                with contextlib.suppress(OSError), open(os.path.join(path, "cgroup.procs")) as f:
                    for pid in f.read().split():
                        with contextlib.suppress(OSError):
                            os.kill(int(pid), signal.SIGKILL)


def remove_cgroups():
    """The kubelet's kubepods cgroups (cgroupfs driver), deepest first."""
    for top in cgroup_tops():
        for path, _dirs, _files in sorted(os.walk(top), key=lambda x: len(x[0]), reverse=True):
            with contextlib.suppress(OSError):
                os.rmdir(path)


def status(args):
    return report_status(args, lambda name, pid, state: alive(pid))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("--dir", default="/tmp/rtcstack-k8s",  # noqa: S108 (root's own state dir, mode 0700)
                        help="state directory (certificates, data, logs)")
    args = parser.parse_args(argv)
    return run_action(args, {"start": start, "stop": stop, "status": status}, "network namespace, containerd, kubelet")


if __name__ == "__main__":
    sys.exit(main())
