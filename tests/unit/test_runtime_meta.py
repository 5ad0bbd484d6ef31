"""meta/runtime.yml: requires_ansible has a floor and no ceiling, and the `livekit` action group lists
exactly the modules that take the connection options (the `rtcstack.livekit.connection` fragment).

Also: every license line in the collection names the license file that exists (LICENSE).
"""

import ast
import os
import re

import yaml
from ansible.module_utils.compat.version import LooseVersion
from ansible.release import __version__ as ansible_core_version
from conftest import ROOT

MODULES_DIR = os.path.join(ROOT, "plugins", "modules")
LICENSE_LINE = "# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)"


def runtime():
    with open(os.path.join(ROOT, "meta", "runtime.yml")) as f:
        return yaml.safe_load(f)


def documentation(path):
    """The module's DOCUMENTATION, parsed without importing the module."""
    with open(path) as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "DOCUMENTATION" for t in node.targets):
            return yaml.safe_load(node.value.value)
    raise AssertionError("%s has no DOCUMENTATION" % path)


def modules():
    return {name[:-3]: documentation(os.path.join(MODULES_DIR, name))
            for name in sorted(os.listdir(MODULES_DIR)) if name.endswith(".py") and not name.startswith("_")}


def test_requires_ansible_has_a_floor_and_no_ceiling():
    spec = runtime()["requires_ansible"]
    assert re.fullmatch(r">=\d+\.\d+\.\d+", spec), "requires_ansible %r: a lower bound only (no <, no upper bound)" % spec
    assert LooseVersion(ansible_core_version) >= LooseVersion(spec[2:]), "the ansible-core we test with is below the floor"


def test_livekit_action_group_is_the_modules_with_connection_options():
    group = runtime()["action_groups"]["livekit"]
    assert len(group) == len(set(group)), "a module is listed twice in the livekit action group"
    docs = modules()
    assert set(group) <= set(docs), "the action group names modules that do not exist: %s" % sorted(set(group) - set(docs))
    connection = {name for name, doc in docs.items()
                  if "rtcstack.livekit.connection" in (doc.get("extends_documentation_fragment") or [])}
    assert connection, "no module extends rtcstack.livekit.connection: the test reads the docs wrong"
    assert sorted(connection - set(group)) == [], "modules with the connection options missing from the livekit group"
    assert sorted(set(group) - connection) == [], "modules in the livekit group without the connection options"
    # The documented membership (attributes.ACTIONGROUP) says the same.
    documented = {name for name, doc in docs.items()
                  if "rtcstack.livekit.attributes.ACTIONGROUP" in (doc.get("extends_documentation_fragment") or [])}
    assert documented == set(group), "attributes.ACTIONGROUP and the livekit action group differ: %s" % sorted(
        documented ^ set(group))


def test_license_file_and_headers_agree():
    with open(os.path.join(ROOT, "galaxy.yml")) as f:
        assert yaml.safe_load(f)["license"] == ["GPL-3.0-or-later"]
    with open(os.path.join(ROOT, "LICENSE")) as f:
        text = f.read()
    assert "GNU GENERAL PUBLIC LICENSE" in text and "Version 3, 29 June 2007" in text
    wrong = []
    for top in ("plugins", "roles", "playbooks", "scripts", "tests"):
        for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, top)):
            dirnames[:] = [d for d in dirnames if d not in ("output", "__pycache__")]
            for name in filenames:
                path = os.path.join(dirpath, name)
                try:
                    with open(path, encoding="utf-8") as f:
                        lines = [line.rstrip("\n") for line in f if line.startswith("# GNU General Public License")]
                except UnicodeDecodeError:
                    continue
                wrong += ["%s: %s" % (os.path.relpath(path, ROOT), line) for line in lines if line != LICENSE_LINE]
    assert wrong == [], "license lines that do not name LICENSE:\n" + "\n".join(wrong)
