"""Each role's meta/argument_specs.yml mirrors its defaults/main.yml key for key, with equal defaults."""

import os

import pytest
import yaml
from conftest import ROOT

ROLES_DIR = os.path.join(ROOT, "roles")
ROLES = sorted(r for r in os.listdir(ROLES_DIR) if not r.startswith("_")) if os.path.isdir(ROLES_DIR) else []


def load(role, *path):
    with open(os.path.join(ROLES_DIR, role, *path)) as f:
        return yaml.safe_load(f) or {}


@pytest.mark.parametrize("role", ROLES)
def test_argument_specs_mirror_defaults(role):
    defaults = load(role, "defaults", "main.yml")
    options = load(role, "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
    assert sorted(defaults) == sorted(options), "defaults/main.yml and meta/argument_specs.yml differ"
    for name, value in defaults.items():
        spec = options[name]
        assert spec.get("description"), "%s has no description" % name
        assert name.startswith(role + "_"), "%s is not prefixed with the role name" % name
        if isinstance(value, str) and "{{" in value:
            continue  # computed from other variables: the spec documents it without a default
        if spec.get("required"):
            continue
        assert spec.get("default") == value, "%s: default %r in the spec, %r in defaults/main.yml" % (
            name, spec.get("default"), value)
