"""Run one collection module through the ``ansible`` CLI and return its result."""

import json
import os
import subprocess
import sys

from conftest import COLLECTIONS

BIN = os.path.dirname(sys.executable)


def ansible_env(livekit=None):
    """Environment for ansible commands: our collection, no stray LIVEKIT_*, the connection if given."""
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith("LIVEKIT_"))
    env.update(ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="0", ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    if livekit:
        env.update(LIVEKIT_URL=livekit["ws_url"], LIVEKIT_API_KEY=livekit["api_key"],
                   LIVEKIT_API_SECRET=livekit["api_secret"])
    return env


def run_module(module, args, livekit=None, check=False, extra_env=None):
    """Result dict of ``ansible localhost -m rtcstack.livekit.<module> -a <args as JSON>``.

    The connection comes from LIVEKIT_* environment variables (the modules' env fallback), so
    no secret is on the command line. ``result['_output']`` keeps the raw output for secret scans.
    """
    env = ansible_env(livekit)
    env.update(ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json")
    env.update(extra_env or {})
    argv = [os.path.join(BIN, "ansible"), "localhost", "-m", "rtcstack.livekit." + module, "-a", json.dumps(args)]
    if check:
        argv.append("--check")
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, check=False)
    try:
        result = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError):
        raise AssertionError("no JSON result from ansible (rc %d): %s %s" % (proc.returncode, proc.stdout, proc.stderr)) from None
    result["_output"] = proc.stdout + proc.stderr
    return result
