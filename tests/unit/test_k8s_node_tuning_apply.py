"""roles/k8s_node_tuning/files/apply.sh (the init container's script) on a directory that stands for /proc/sys."""

import os
import subprocess

import pytest
from conftest import ROOT

SCRIPT = os.path.join(ROOT, "roles", "k8s_node_tuning", "files", "apply.sh")


def run(tmp_path, conf, floor, kernel):
    cfg, proc = tmp_path / "cfg", tmp_path / "sys"
    cfg.mkdir()
    (cfg / "sysctl.conf").write_text("".join("%s=%s\n" % kv for kv in conf.items()))
    (cfg / "floor").write_text(" ".join(floor) + "\n")
    (cfg / "nofile").write_text("1048576\n")
    for key, value in kernel.items():
        path = proc.joinpath(*key.split("."))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(value + "\n")
    out = subprocess.run(["sh", SCRIPT, str(cfg), str(proc)], capture_output=True, text=True, check=False)
    now = {k: " ".join(proc.joinpath(*k.split(".")).read_text().split()) for k in kernel}
    rows = {line.split()[0]: line for line in out.stdout.splitlines()[1:]}
    return out.returncode, now, rows


@pytest.mark.skipif(not os.path.exists("/bin/sh"), reason="needs a POSIX shell")
def test_writes_what_differs_and_keeps_higher_capacity_values(tmp_path):
    conf = {"net.core.somaxconn": "8192", "fs.file-max": "4194304", "net.core.rmem_max": "268435456",
            "net.ipv4.tcp_rmem": "4096 1048576 16777216"}
    kernel = {"net.core.somaxconn": "8192", "fs.file-max": "9223372036854775807", "net.core.rmem_max": "212992",
              "net.ipv4.tcp_rmem": "4096\t131072\t6291456"}
    rc, now, rows = run(tmp_path, conf, ["fs.file-max", "net.core.rmem_max"], kernel)
    assert rc == 0, rows
    assert now == {"net.core.somaxconn": "8192", "fs.file-max": "9223372036854775807", "net.core.rmem_max": "268435456",
                   "net.ipv4.tcp_rmem": "4096 1048576 16777216"}
    assert rows["net.core.somaxconn"].endswith("unchanged")
    assert rows["fs.file-max"].endswith("unchanged") and "9223372036854775807" in rows["fs.file-max"]
    assert rows["net.core.rmem_max"].endswith("applied") and rows["net.ipv4.tcp_rmem"].endswith("applied")
    assert "nofile" in rows


def test_a_missing_key_fails_the_pod(tmp_path):
    rc, now, rows = run(tmp_path, {"net.core.somaxconn": "8192", "net.netfilter.nf_conntrack_max": "1048576"}, [],
                        {"net.core.somaxconn": "4096"})
    assert rc == 1
    assert now == {"net.core.somaxconn": "8192"}
    assert "FAILED: not in this kernel" in rows["net.netfilter.nf_conntrack_max"]
