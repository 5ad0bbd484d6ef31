"""The monitoring role's alert rules (roles/monitoring/templates/livekit.rules.yml.j2) rendered by Ansible with the
role's defaults, checked by promtool and run against every unit test of roles/monitoring/files/rule_tests/. The
Molecule scenario runs the same tests on its monitoring host; this runs them where promtool is, in seconds."""

import glob
import json
import os
import shutil
import subprocess
import sys

import promtool
import pytest
from adhoc import ansible_env
from conftest import ROOT

ROLE = os.path.join(ROOT, "roles", "monitoring")
BIN = os.path.dirname(sys.executable)

PLAY = """
- hosts: localhost
  connection: local
  gather_facts: false
  vars_files: [{defaults}, {vars}]
  tasks:
    - ansible.builtin.template:
        src: {template}
        dest: {dest}
        mode: "0644"
"""


def render(tmp_path, **extra):
    play = tmp_path / "render.yml"
    play.write_text(PLAY.format(defaults=os.path.join(ROLE, "defaults", "main.yml"), vars=os.path.join(ROLE, "vars", "main.yml"),
                                template=os.path.join(ROLE, "templates", "livekit.rules.yml.j2"),
                                dest=tmp_path / "livekit.rules.yml"))
    model = {"monitoring": {"jobs": {"redis": [{"targets": ["10.0.0.2:9121"], "labels": {"instance": "r"}}]}}}
    extra_vars = json.dumps(dict(extra, livekit_deployment=model))
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", str(play), "-e", extra_vars],
                          env=ansible_env(), capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    return tmp_path / "livekit.rules.yml"


@pytest.fixture(scope="module")
def tool():
    return promtool.path()


def test_rule_file_passes_promtool_and_every_rule_test(tmp_path, tool):
    rules = render(tmp_path)
    check = subprocess.run([tool, "check", "rules", str(rules)], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    tests = tmp_path / "rule_tests"
    shutil.copytree(os.path.join(ROLE, "files", "rule_tests"), tests)
    files = sorted(os.path.basename(f) for f in glob.glob(str(tests / "*.yml")))
    run = subprocess.run([tool, "test", "rules"] + files, cwd=tests, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count("SUCCESS") == len(files)


def test_the_rule_tests_fail_when_a_threshold_moves(tmp_path, tool):
    """The tests are not vacuous: with other thresholds the alerts they expect do not fire."""
    render(tmp_path, monitoring_alert_connection_failure_percent=11, monitoring_alert_latency_ms=490,
           monitoring_alert_certificate_days=9)
    tests = tmp_path / "rule_tests"
    shutil.copytree(os.path.join(ROLE, "files", "rule_tests"), tests)
    run = subprocess.run([tool, "test", "rules", "livekit_connection_failures.yml", "livekit_latency.yml", "livekit_front.yml"],
                         cwd=tests, capture_output=True, text=True, check=False)
    assert run.returncode != 0
    for alert in ("LiveKitConnectionFailuresHigh", "LiveKitLatencyHigh", "LiveKitCertificateExpiresSoon"):
        assert "alertname: %s" % alert in run.stdout + run.stderr
