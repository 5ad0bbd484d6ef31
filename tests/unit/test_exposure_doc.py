"""The exposure figures of the service units: docs/roles.md ("Service sandbox") and
docs/role-livekit-proxy.md publish the figures of molecule/shared/vars/exposure_limits.yml, which the
Molecule verifies check on the hosts (molecule/shared/tasks/exposure.yml)."""

import os
import re

import yaml
from conftest import ROOT

LIMITS = os.path.join(ROOT, "molecule", "shared", "vars", "exposure_limits.yml")
ROW = re.compile(r"^\| `([^`]+)` \| `([^`]+)` \| ([0-9]+\.[0-9]) \|$")


def limits():
    with open(LIMITS) as f:
        return yaml.safe_load(f)["exposure_limits"]


def read(*path):
    with open(os.path.join(ROOT, *path)) as f:
        return f.read()


def section(text, title):
    start = text.index("\n## %s\n" % title)
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else len(text)]


def test_docs_table_is_the_limits_file():
    rows = [ROW.match(line) for line in section(read("docs", "roles.md"), "Service sandbox").splitlines()]
    table = dict((m.group(1), {"role": m.group(2), "max": float(m.group(3))}) for m in rows if m)
    in_file = dict((unit, {"role": v["role"], "max": float(v["max"])}) for unit, v in limits().items())
    assert table == in_file


def test_limits_name_real_roles_groups_and_figures():
    groups = section(read("docs", "roles.md"), "Inventory groups")
    for unit, v in limits().items():
        assert os.path.isdir(os.path.join(ROOT, "roles", v["role"])), "%s: no role %s" % (unit, v["role"])
        assert "| `%s` |" % v["group"] in groups, "%s: %s is not an inventory group" % (unit, v["group"])
        assert 0 <= float(v["max"]) <= 10, unit


def test_proxy_doc_publishes_the_nginx_figure():
    text = read("docs", "role-livekit-proxy.md")
    assert "exposure **%.1f**" % float(limits()["nginx"]["max"]) in text
