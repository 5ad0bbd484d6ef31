"""What the local test harnesses (local_kubernetes.py, local_openstack.py) share: pinned versions, the
cache directory, polling with a bound, and SIGTERM as an interrupt so a start cleans up after itself."""

import os
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
