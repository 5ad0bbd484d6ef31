"""What the local test harnesses (local_kubernetes.py, local_openstack.py) share: pinned versions, the
cache directory, polling with a bound, and SIGTERM as an interrupt so a start cleans up after itself."""

import json
import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def versions():
    """scripts/versions.env as a dict (KEY=value lines, # comments)."""
    out = {}
    with open(os.path.join(HERE, "versions.env")) as f:
        for line in f:
            if "=" in line and not line.startswith("#"):
                k, v = line.strip().split("=", 1)
                out[k] = v
    return out


def cache_dir():
    return os.environ.get("RTCSTACK_CACHE", os.path.expanduser("~/.cache/rtcstack"))


def wait_for(check, what, timeout, logs=None):
    """Poll CHECK every 0.3 s until it is true; exit with a message naming WHAT (and LOGS) after TIMEOUT s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise SystemExit("timed out after %.0f s waiting for %s%s" % (timeout, what, " (see %s)" % logs if logs else ""))


def interrupted(signum, frame):
    """A signal handler: SIGTERM/SIGHUP end a start like Ctrl-C, so its cleanup runs."""
    raise KeyboardInterrupt("signal %d" % signum)


def save_state(d, state):
    """The harness's state (PIDs, ports, what it changed) as D/state.json, root-only."""
    path = os.path.join(d, "state.json")
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        json.dump(state, f, indent=2)


def load_state(d):
    """D/state.json, or None when there is none (or it cannot be read)."""
    try:
        with open(os.path.join(d, "state.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def start_or_undo(start, stop, args):
    """Run START(args); on any failure or interrupt, STOP(args, quiet=True) what it started and re-raise."""
    try:
        return start(args)
    except BaseException:
        print("start failed: stopping what was started (logs in %s/logs)" % os.path.abspath(args.dir), file=sys.stderr)
        stop(args, quiet=True)
        raise


def fresh_state_dir(args, stop, marker, what):
    """ARGS.dir as an absolute path, after STOP(args, quiet=True) of an earlier run's leftovers; refuses a
    non-empty directory without MARKER (not a state dir of this harness)."""
    d = os.path.abspath(args.dir)
    if load_state(d):
        stop(args, quiet=True)
    if os.path.isdir(d) and os.listdir(d) and not os.path.exists(os.path.join(d, marker)):
        raise SystemExit("%s is not empty and not %s state dir: pick another --dir" % (d, what))
    return d


def report_status(args, is_alive):
    """``status``: prints ``stopped`` (returns 1) or each started process's liveness as JSON (0 when all are alive).
    IS_ALIVE(name, pid, state) tells one process."""
    state = load_state(os.path.abspath(args.dir))
    if state is None:
        print("stopped")
        return 1
    report = {name: bool(is_alive(name, pid, state)) for name, pid in state.get("pids", {}).items()}
    print(json.dumps(report))
    return 0 if report and all(report.values()) else 1


def run_action(args, actions, why_root):
    """Run ACTIONS[args.action](args) as root; a SIGTERM during a start stops what it had started."""
    if os.geteuid() != 0:
        raise SystemExit("%s needs root (%s)" % (os.path.basename(sys.argv[0]), why_root))
    signal.signal(signal.SIGTERM, interrupted)
    return actions[args.action](args)
