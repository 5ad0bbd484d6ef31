"""Run every integration target (tests/integration/targets/*) with ansible-test against the real server.

Each target goes check mode -> run -> rerun unchanged -> modify -> remove -> rerun unchanged. Their
output is kept under tests/output/logs/ for the secret scan (test_zz_secret_scan.py).
"""

import os
import subprocess
import sys

import pytest
from conftest import COLLECTIONS, COPY, ROOT, assert_no_secrets, write_log

TARGETS = sorted(os.listdir(os.path.join(ROOT, "tests", "integration", "targets")))
SIP_PASSWORD = "it-sip-password-8d1c2f"  # the SIP targets set this; the scan looks for it


def write_config(livekit):
    lines = {
        "livekit_url": livekit["url"],
        "livekit_ws_url": livekit["ws_url"],
        "livekit_api_key": livekit["api_key"],
        "livekit_api_secret": livekit["api_secret"],
        "livekit_sip_password": SIP_PASSWORD,
        "livekit_python": sys.executable,
    }
    path = os.path.join(COPY, "tests", "integration", "integration_config.yml")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        for key, value in lines.items():
            f.write("%s: %s\n" % (key, value))


@pytest.mark.server
@pytest.mark.parametrize("target", TARGETS)
def test_target(target, livekit):
    write_config(livekit)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1",
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    env = dict((k, v) for k, v in env.items() if not k.startswith("LIVEKIT_"))
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-test"), "integration", target, "--local",
         "--python", "%d.%d" % sys.version_info[:2], "--color", "no", "-v", "--diff"],
        cwd=COPY, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900, check=False)
    write_log("integration-%s.log" % target, proc.stdout)
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert_no_secrets(proc.stdout, livekit.secrets + [SIP_PASSWORD], "integration target %s" % target)
