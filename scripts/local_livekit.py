"""Start and stop a real livekit-server and redis-server on loopback, for the lab and the tests.

    local_livekit.py start --dir DIR [--port 7880] [--redis-port 6380] [--no-redis] [--keep-keys]
                           [--prometheus-port N] [--stun-server HOST:PORT]
                           [--redis-address HOST:PORT] [--node-sort-by rooms]
    local_livekit.py stop --dir DIR

``start`` generates a key pair into DIR/keys.yaml (mode 0600), writes DIR/config.yaml, starts both
servers, waits until ``GET /`` answers ``OK`` and writes DIR/connection.json (url, api_key and the
path of the key file: the secret stays in the key file). With ``--prometheus-port`` the server
exports its Prometheus metrics on http://127.0.0.1:N/metrics (``metrics_url`` in connection.json).
With ``rtc.stun_servers`` empty livekit-server hands its clients public STUN servers
(global.stun.twilio.com, stun.l.google.com), so a WebRTC client of this server would resolve and
contact them: ``--stun-server`` defaults to 127.0.0.1:3478 (nothing needs to listen there), which
keeps the clients of the tests and the lab off the internet. (The media itself runs between the
machine's own non-loopback addresses: libwebrtc gathers no loopback candidates; it never leaves the
machine.)

A second node of the same cluster: ``--redis-address`` joins the Redis of a first node (no Redis is
started), ``--keep-keys`` with the first node's keys.yaml copied into DIR shares its key, and its own
``--port`` (RTC on the next two ports) and ``--prometheus-port`` keep it apart. ``--node-sort-by``
sets livekit's ``node_selector`` (kind ``any``) so a new room goes to, for example, the node with the
fewest ``rooms`` (node stats are refreshed every 2 s).
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "plugins", "module_utils"))
from _secrets import generate_key_id, generate_secret, read_key_file, write_atomic  # noqa: E402 (the collection's key policy)


def pinned_version():
    with open(os.path.join(HERE, "versions.env")) as f:
        for line in f:
            if line.startswith("LIVEKIT_SERVER_VERSION="):
                return line.split("=", 1)[1].strip()
    raise SystemExit("LIVEKIT_SERVER_VERSION missing from scripts/versions.env")


def server_binary():
    cache = os.environ.get("RTCSTACK_CACHE", os.path.expanduser("~/.cache/rtcstack"))
    path = os.path.join(cache, "livekit-%s" % pinned_version(), "server")
    if not os.access(path, os.X_OK):
        raise SystemExit("%s is missing: run scripts/bootstrap.sh first" % path)
    return path


def wait_for(check, what, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise SystemExit("timed out after %.0f s waiting for %s" % (timeout, what))


def port_open(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def http_ok(url):
    try:
        with urllib.request.urlopen(url, timeout=1) as r:  # noqa: S310 (a loopback http URL built here)
            return r.status == 200 and r.read().strip() == b"OK"
    except OSError:
        return False


def spawn(argv, log, cwd):
    out = open(log, "ab")  # noqa: SIM115 (the child keeps it as stdout)
    return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=cwd,
                            start_new_session=True, env=clean_env()).pid


def clean_env():
    # Stray LIVEKIT_* variables override config.yaml in livekit-server: never pass them on.
    return dict((k, v) for k, v in os.environ.items() if not k.startswith("LIVEKIT_"))


def start(args):
    d = os.path.abspath(args.dir)
    os.makedirs(d, exist_ok=True)
    stop(args, quiet=True)
    keys = os.path.join(d, "keys.yaml")
    if args.keep_keys and os.path.exists(keys):
        key = read_key_file(keys).keys[0]
        os.chmod(keys, 0o600)
    else:
        key = generate_key_id()
        write_atomic(keys, "%s: %s\n" % (key, generate_secret()))
    config = [
        "port: %d" % args.port,
        "bind_addresses: [127.0.0.1]",
        "rtc:",
        "  tcp_port: %d" % (args.port + 1),
        "  udp_port: %d" % (args.port + 2),
        "  node_ip: 127.0.0.1",
        "  use_external_ip: false",
    ]
    if args.stun_server:
        config += ["  stun_servers: [%s]" % ", ".join('"%s"' % x for x in args.stun_server)]
    config += [
        "key_file: %s" % keys,
    ]
    if args.prometheus_port:
        if port_open(args.prometheus_port):
            raise SystemExit("port %d is taken: pick another --prometheus-port" % args.prometheus_port)
        config += ["prometheus:", "  port: %d" % args.prometheus_port]
    config += [
        "logging:",
        "  level: info",
    ]
    pids = {}
    if args.node_sort_by:
        config += ["node_selector:", "  kind: any", "  sort_by: %s" % args.node_sort_by]
    if args.redis_address:
        config += ["redis:", "  address: %s" % args.redis_address]
    elif not args.no_redis:
        if port_open(args.redis_port):
            raise SystemExit("port %d is taken: pick another --redis-port" % args.redis_port)
        redis = shutil.which("redis-server") or "/usr/bin/redis-server"
        pids["redis"] = spawn([redis, "--port", str(args.redis_port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--dir", d], os.path.join(d, "redis.log"), d)
        wait_for(lambda: port_open(args.redis_port), "redis-server on port %d" % args.redis_port)
        config += ["redis:", "  address: 127.0.0.1:%d" % args.redis_port]
    with open(os.path.join(d, "config.yaml"), "w") as f:
        f.write("\n".join(config) + "\n")
    if port_open(args.port):
        raise SystemExit("port %d is taken: pick another --port" % args.port)
    pids["livekit"] = spawn([server_binary(), "--config", "config.yaml"], os.path.join(d, "server.log"), d)
    with open(os.path.join(d, "pids.json"), "w") as f:
        json.dump(pids, f)
    url = "http://127.0.0.1:%d" % args.port
    wait_for(lambda: http_ok(url + "/"), "livekit-server at %s (see %s/server.log)" % (url, d))
    info = {"url": url, "ws_url": "ws://127.0.0.1:%d" % args.port, "api_key": key, "key_file": keys,
            "redis": args.redis_address or (None if args.no_redis else "127.0.0.1:%d" % args.redis_port), "dir": d,
            "metrics_url": "http://127.0.0.1:%d/metrics" % args.prometheus_port if args.prometheus_port else None}
    with open(os.path.join(d, "connection.json"), "w") as f:
        json.dump(info, f, indent=2)
    print(json.dumps(info))


def stop(args, quiet=False):
    path = os.path.join(os.path.abspath(args.dir), "pids.json")
    if not os.path.exists(path):
        return
    with open(path) as f:
        pids = json.load(f)
    for name in ("livekit", "redis"):
        pid = pids.get(name)
        if not pid:
            continue
        for sig in (signal.SIGTERM, signal.SIGTERM, signal.SIGKILL):
            # livekit-server drains on the first SIGTERM and exits on the second.
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and alive(pid):
                time.sleep(0.1)
            if not alive(pid):
                break
        if not quiet:
            print("stopped %s (pid %d)" % (name, pid))
    os.unlink(path)


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("--dir", required=True)
    parser.add_argument("--port", type=int, default=7880)
    parser.add_argument("--redis-port", type=int, default=6380)
    parser.add_argument("--no-redis", action="store_true")
    parser.add_argument("--keep-keys", action="store_true", help="reuse DIR/keys.yaml when it exists")
    parser.add_argument("--redis-address", help="use this running Redis (HOST:PORT, a second node's) and start none")
    parser.add_argument("--node-sort-by", choices=["random", "rooms", "clients", "tracks", "cpuload", "sysload"],
                        help="livekit's node_selector sort_by (kind any): where a new room goes")
    parser.add_argument("--prometheus-port", type=int, default=0, help="export Prometheus metrics on this port")
    parser.add_argument("--stun-server", action="append", default=[],
                        help="STUN server (HOST:PORT) given to the clients (default 127.0.0.1:3478, not livekit's public ones)")
    args = parser.parse_args(argv)
    args.stun_server = args.stun_server or ["127.0.0.1:3478"]
    {"start": start, "stop": stop}[args.action](args)


if __name__ == "__main__":
    sys.exit(main())
