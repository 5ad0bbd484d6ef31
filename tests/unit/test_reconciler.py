"""Unit tests of the reconciler base (_resource._Reconciler, reconciler_main): compare, check mode,
diff, masking, warnings, refusals.

These test the base class only. ``_InMemoryTestReconciler`` keeps its objects in a dict that stands
in for a server's list/create/update/delete API so that the base's own logic can be checked without
a server; every real module is tested against the real livekit-server by the integration targets.
"""

import json
from unittest import mock

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.rtcstack.livekit.plugins.module_utils._resource import (
    MASK,
    STATE_OPTION,
    _Reconciler,
    reconciler_main,
    with_article,
)

CONNECTION = {"url": "http://127.0.0.1:9", "api_key": "APIunit", "api_secret": "s" * 32}
SECRET = "unit-secret-value-0123456789"
OPTIONS = dict(
    state=STATE_OPTION,
    size=dict(type="int"),
    color=dict(type="str"),
    tags=dict(type="list", elements="str"),
    password=dict(type="str", no_log=True),
)


class _InMemoryTestReconciler(_Reconciler):
    """Test double of a server API for the base class's tests only: ``objects`` maps name -> object."""

    kind = "ingress"
    plural = "ingresses"
    id_field = "object_id"
    fields = ("size", "color", "tags", "password")
    unordered_fields = ("tags",)
    secret_fields = ("password",)
    immutable_fields = ("size",)
    hidden_fields = ("internal",)
    objects = {}
    calls = []

    def fetch(self, names):
        self.calls.append(("list", sorted(names)))
        return [dict(o) for o in self.objects.values() if o["name"] in names]

    def create(self, name, desired):
        self.calls.append(("create", name))
        obj = dict(desired, name=name, object_id="OB_" + name, internal="x")
        self.objects[name] = obj
        return dict(obj)

    def update(self, current, desired, changes):
        self.calls.append(("update", current["name"], sorted(changes)))
        self.objects[current["name"]].update(changes)
        return dict(self.objects[current["name"]])

    def delete(self, current):
        self.calls.append(("delete", current["name"]))
        del self.objects[current["name"]]


@pytest.fixture
def server():
    _InMemoryTestReconciler.objects = {
        "kept": {"name": "kept", "object_id": "OB_kept", "size": 1, "color": "red", "tags": ["b", "a"],
                 "password": SECRET, "internal": "x"},
    }
    _InMemoryTestReconciler.calls = []
    return _InMemoryTestReconciler.objects


def run_module(capsys, args, check_mode=False, diff=True):
    """The module's result, with the messages it warned under ``warned``."""
    args = dict(CONNECTION, _ansible_check_mode=check_mode, _ansible_diff=diff, **args)
    warned = []
    with patch_module_args(args), mock.patch.object(AnsibleModule, "warn", lambda self, msg: warned.append(msg)), \
            pytest.raises(SystemExit):
        reconciler_main(_InMemoryTestReconciler, OPTIONS, "ingresses")
    out = capsys.readouterr().out
    assert SECRET not in out and all(SECRET not in w for w in warned)
    return dict(json.loads(out), warned=warned)


def test_create_in_check_mode_changes_nothing_and_reports_changed(server, capsys):
    before = json.dumps(server, sort_keys=True)
    result = run_module(capsys, {"name": "new", "size": 2}, check_mode=True)
    assert result["changed"]
    assert result["actions"] == [{"name": "new", "action": "created"}]
    assert result["ingress"]["object_id"] == ""
    assert json.dumps(server, sort_keys=True) == before
    assert [c[0] for c in _InMemoryTestReconciler.calls] == ["list"]


def test_update_in_check_mode_changes_nothing_and_diffs(server, capsys):
    result = run_module(capsys, {"name": "kept", "color": "blue"}, check_mode=True)
    assert result["changed"]
    assert result["actions"] == [{"name": "kept", "action": "updated", "fields": ["color"]}]
    assert result["diff"]["before"]["color"] == "red"
    assert result["diff"]["after"]["color"] == "blue"
    assert server["kept"]["color"] == "red"


def test_create_then_rerun_is_unchanged(server, capsys):
    first = run_module(capsys, {"name": "new", "size": 2, "tags": ["x", "y"]})
    assert first["changed"] and ("create", "new") in _InMemoryTestReconciler.calls
    again = run_module(capsys, {"name": "new", "size": 2, "tags": ["y", "x"]})
    assert not again["changed"]
    assert again["actions"] == [{"name": "new", "action": "unchanged"}]
    assert again["diff"] == {"before": {}, "after": {}}


def test_hidden_fields_are_never_returned(server, capsys):
    result = run_module(capsys, {"name": "kept"})
    assert "internal" not in result["ingress"]
    assert result["ingress"]["object_id"] == "OB_kept"


def test_secret_fields_are_masked_in_results_and_diffs(server, capsys):
    result = run_module(capsys, {"name": "kept", "password": "another-secret-value-0123456789"})
    assert result["actions"][0]["fields"] == ["password"]
    assert result["ingress"]["password"] == MASK
    assert result["diff"] == {"before": {"size": 1, "color": "red", "tags": ["a", "b"], "password": MASK},
                              "after": {"size": 1, "color": "red", "tags": ["a", "b"], "password": MASK}}
    assert "another-secret-value" not in json.dumps(result)


def test_immutable_fields_are_warned_about_and_not_changed(server, capsys):
    result = run_module(capsys, {"name": "kept", "size": 5, "password": SECRET})
    assert not result["changed"]
    assert result["actions"] == [{"name": "kept", "action": "unchanged", "unchangeable": ["size"]}]
    assert result["warned"] == ["ingress 'kept': size is 1 on the server, 5 declared. "
                                "The server cannot change these fields on an existing ingress."]
    assert server["kept"]["size"] == 1


def test_immutable_secret_is_masked_in_the_warning(server, capsys, monkeypatch):
    monkeypatch.setattr(_InMemoryTestReconciler, "immutable_fields", ("password",))
    result = run_module(capsys, {"name": "kept", "password": "declared-other-value"})
    assert result["warned"][0].startswith("ingress 'kept': password is '%s' on the server" % MASK)
    assert "declared-other-value" in result["warned"][0]  # the declared value is the task's own


def test_bulk_with_repeated_names_is_refused_before_any_call(server, capsys):
    result = run_module(capsys, {"ingresses": [{"name": "a"}, {"name": "b"}, {"name": "a"}]})
    assert result["failed"]
    assert result["msg"] == "each ingress may be declared once; repeated: a"
    assert _InMemoryTestReconciler.calls == []


def test_several_server_objects_with_one_name_are_refused_with_an_article(server, capsys):
    server["twin"] = {"name": "kept", "object_id": "OB_twin"}
    result = run_module(capsys, {"name": "kept"})
    assert result["failed"]
    assert "2 ingress objects on the server are named 'kept' (OB_kept, OB_twin)" in result["msg"]
    assert "identifies an ingress by its name" in result["msg"]


def test_absent_objects_are_left_out_of_the_diff(server, capsys):
    result = run_module(capsys, {"ingresses": [
        {"name": "new-1", "color": "red"}, {"name": "new-2"}, {"name": "kept", "state": "absent"},
        {"name": "never", "state": "absent"},
    ]}, check_mode=True)
    assert result["changed"]
    assert result["diff"]["before"] == {"kept": {"size": 1, "color": "red", "tags": ["a", "b"], "password": MASK}}
    assert sorted(result["diff"]["after"]) == ["new-1", "new-2"]
    assert [a["action"] for a in result["actions"]] == ["created", "created", "deleted", "unchanged"]
    assert [o["name"] for o in result["ingresses"]] == ["new-1", "new-2"]
    assert "kept" in server


def test_single_form_create_diff_has_an_empty_before(server, capsys):
    result = run_module(capsys, {"name": "new", "color": "red"}, check_mode=True)
    assert result["diff"] == {"before": {}, "after": {"color": "red"}}


def test_delete_removes_and_rerun_is_unchanged(server, capsys):
    result = run_module(capsys, {"name": "kept", "state": "absent"})
    assert result["changed"] and result["ingress"] == {}
    assert "kept" not in server
    assert not run_module(capsys, {"name": "kept", "state": "absent"})["changed"]


def test_name_and_bulk_are_mutually_exclusive(server, capsys):
    result = run_module(capsys, {"name": "a", "ingresses": [{"name": "b"}]})
    assert result["failed"] and "mutually exclusive" in result["msg"]


@pytest.mark.parametrize("noun, expected", [
    ("room", "a room"), ("ingress", "an ingress"), ("egress", "an egress"),
    ("inbound trunk", "an inbound trunk"), ("outbound trunk", "an outbound trunk"), ("dispatch rule", "a dispatch rule"),
])
def test_with_article(noun, expected):
    assert with_article(noun) == expected
