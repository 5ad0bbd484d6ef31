# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compare-then-act for objects that live inside a LiveKit server.

Private to this collection: the interface may change without notice.

A module describes one kind of object with a subclass of ``_Reconciler``: how to fetch objects by
name, how to read the comparable fields, and the create / update / delete calls. The base class
does the rest once for every API: matching by name, the comparison, check mode, diff, masking of
secrets, and warnings for fields the server cannot change. ``reconciler_main`` is the whole
``main()`` of such a module (single object or bulk list); ``info_main`` that of an ``*_info`` module.
"""

from __future__ import annotations

import copy

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.rtcstack.livekit.plugins.module_utils._api import (
    CONNECTION_ARGSPEC,
    LiveKitClient,
    LiveKitError,
)
from ansible_collections.rtcstack.livekit.plugins.module_utils._secrets import MASK

STATE_OPTION = dict(type="str", choices=["present", "absent"], default="present")


def livekit_module(argument_spec, **kwargs):
    """An AnsibleModule whose options are ``argument_spec`` plus the connection options."""
    spec = copy.deepcopy(CONNECTION_ARGSPEC)
    spec.update(argument_spec)
    kwargs.setdefault("supports_check_mode", True)
    return AnsibleModule(argument_spec=spec, **kwargs)


def client_for(module):
    try:
        return LiveKitClient.from_params(module.params)
    except LiveKitError as e:
        module.fail_json(msg=str(e))


def run(module, action):
    """Call ``action()`` and turn LiveKitError and ValueError into one clear failure."""
    try:
        return action()
    except (LiveKitError, ValueError) as e:
        module.fail_json(msg=str(e))


def drop_none(d):
    return dict((k, v) for k, v in d.items() if v is not None)


def mask(obj, fields):
    """A copy of ``obj`` with the non-empty values of ``fields`` replaced by MASK."""
    return dict((k, MASK if k in fields and v else v) for k, v in obj.items())


def with_article(noun):
    """``noun`` after "a" or "an": "a room", "an ingress"."""
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def info_main(options, result_key, find):
    """The ``main()`` of an ``*_info`` module: returns ``find(client, params)`` under ``result_key``
    (or, with ``result_key=None``, the dict it returns as the result keys); never changes anything."""
    module = livekit_module(options)
    client = client_for(module)
    found = run(module, lambda: find(client, module.params))
    module.exit_json(changed=False, **(found if result_key is None else {result_key: found}))


def reconciler_main(reconciler, options, bulk_option=None, extra_options=None):
    """The ``main()`` of a module on ``_Reconciler``.

    ``options`` are the options of one object (without its name). With ``bulk_option`` the module
    takes either ``name`` + ``options`` or a list ``bulk_option`` of such dicts, never both.
    ``extra_options`` apply to the whole task and are not part of a bulk item.
    """
    name_key = reconciler.name_key
    spec = dict(options)
    spec.setdefault(name_key, dict(type="str"))
    spec.update(extra_options or {})
    kwargs = {}
    if bulk_option:
        spec[bulk_option] = dict(type="list", elements="dict",
                                 options=dict(options, **{name_key: dict(type="str", required=True)}))
        kwargs = dict(mutually_exclusive=[(name_key, bulk_option)], required_one_of=[(name_key, bulk_option)])
    module = livekit_module(spec, **kwargs)
    reconciler(module, client_for(module)).run_module(bulk_option, (name_key,) + tuple(options))


class _Reconciler:
    """Bring named objects of one kind to the declared state. Subclasses set the class attributes
    and implement ``fetch``, ``create``, ``update`` and ``delete``."""

    kind = "object"            # result key of the single form
    label = None               # the kind in messages; kind with spaces when None
    plural = "objects"         # result key of the bulk form
    name_key = "name"          # the option that names an object (and the key of its actions)
    id_field = None            # the server's id of an object, e.g. ingress_id
    fields = ()                # option names compared with the server's object
    unordered_fields = ()      # lists compared as sets
    string_dict_fields = ()    # dicts compared with their keys and values as strings
    secret_fields = ()         # masked in results and diffs
    immutable_fields = ()      # differences reported, never changed
    hidden_fields = ()         # server fields never returned (e.g. a room's turn_password)
    immutable_fails = False    # fail instead of warning on an immutable difference

    def __init__(self, module, client):
        self.module = module
        self.client = client
        self.check_mode = module.check_mode
        self.warnings = []
        if self.label is None:
            self.label = self.kind.replace("_", " ")

    # -- to implement -------------------------------------------------------------------------
    def fetch(self, names):
        """Return the server's objects whose name is in ``names`` (one call where the API allows)."""
        raise NotImplementedError

    def create(self, name, desired):
        raise NotImplementedError

    def update(self, current, desired, changes):
        raise NotImplementedError

    def delete(self, current):
        raise NotImplementedError

    # -- hooks with defaults ------------------------------------------------------------------
    def name_of(self, obj):
        return obj.get(self.name_key)

    def read(self, obj, field):
        """The comparable value of ``field`` on a server object."""
        return self.normalize(field, obj.get(field))

    def normalize(self, field, value):
        if field in self.unordered_fields and value is not None:
            return sorted(value)
        if field in self.string_dict_fields and value is not None:
            return dict((str(k), str(v)) for k, v in value.items())
        return value

    def check(self, plan):
        """Refuse the whole request before any change. ``plan`` lists (spec, current or None)."""

    def changes(self, current, desired):
        """The declared values that differ from ``current``, by field."""
        return dict((f, v) for f, v in desired.items() if self.read(current, f) != v)

    def unchangeable(self, current, field, value):
        """Why the server cannot set ``field`` of ``current`` to ``value``, or None. Such a difference
        is warned about and listed in the action like an immutable field."""
        return None

    def simulate(self, name, current, desired):
        """The object a create or update would return, for check mode."""
        obj = dict(current or {self.name_key: name})
        obj.update(desired)
        if current is None and self.id_field:
            obj[self.id_field] = ""
        return obj

    def diff_of(self, current, obj, changes):
        """(before, after) of an update of ``current`` into ``obj``."""
        return self.view(current), self.view(obj)

    def public(self, obj):
        """An object as results show it: hidden fields dropped, secrets masked."""
        if obj is None:
            return {}
        return mask(dict((k, v) for k, v in obj.items() if k not in self.hidden_fields), self.secret_fields)

    def view(self, obj):
        """The comparable fields of a server object, secrets masked (for diffs)."""
        if not obj:
            return {}
        shown = dict((f, self.read(obj, f)) for f in self.fields)
        return mask(dict((f, v) for f, v in shown.items() if v is not None), self.secret_fields)

    # -- the shared logic ---------------------------------------------------------------------
    def desired_of(self, spec):
        return dict((f, self.normalize(f, spec[f])) for f in self.fields if spec.get(f) is not None)

    def reconcile(self, specs):
        """Ensure every spec; return (objects, actions, diff). An object absent before the task is not
        in the diff's ``before``, one absent after it not in ``after``."""
        names = [spec[self.name_key] for spec in specs]
        repeated = sorted(set(n for n in names if names.count(n) > 1))
        if repeated:
            raise LiveKitError("each %s may be declared once; repeated: %s" % (self.label, ", ".join(repeated)))
        by_name = {}
        for obj in self.fetch(names):
            by_name.setdefault(self.name_of(obj), []).append(obj)
        # Everything that can refuse the request does so before the first change.
        self.check([(spec, self.current_of(spec[self.name_key], by_name.get(spec[self.name_key], [])))
                    for spec in specs])
        objects, actions, before, after = [], [], {}, {}
        for spec in specs:
            name = spec[self.name_key]
            obj, action, (old, new) = self.ensure(spec, by_name.get(name, []))
            actions.append(action)
            if obj is not None:
                objects.append(self.public(obj))
            if action["action"] in ("updated", "deleted"):
                before[name] = old
            if action["action"] in ("updated", "created"):
                after[name] = new
        return objects, actions, {"before": before, "after": after}

    def current_of(self, name, matches):
        """The one server object named ``name``, or None; several are an error."""
        if len(matches) > 1:
            ids = ", ".join(str(m.get(self.id_field, "?")) for m in matches)
            raise LiveKitError(
                "%d %s objects on the server are named %r (%s); this module identifies %s by its name: "
                "delete the extra ones" % (len(matches), self.label, name, ids, with_article(self.label)))
        return matches[0] if matches else None

    def ensure(self, spec, matches):
        name = spec[self.name_key]
        current = self.current_of(name, matches)
        desired = self.desired_of(spec)
        if spec.get("state", "present") == "absent":
            if current is None:
                return None, self._action(name, "unchanged"), ({}, {})
            if not self.check_mode:
                self.delete(current)
            return None, self._action(name, "deleted"), (self.view(current), {})
        if current is None:
            obj = self.simulate(name, None, desired) if self.check_mode else self.create(name, desired)
            return obj, self._action(name, "created"), ({}, self.view(obj))
        changes = self.changes(current, desired)
        frozen = sorted(f for f in changes if f in self.immutable_fields)
        if frozen:
            self._immutable(name, current, changes, frozen)
            for field in frozen:
                del changes[field]
        for field in sorted(changes):
            reason = self.unchangeable(current, field, changes[field])
            if reason:
                self.warnings.append("%s %r: %s" % (self.label, name, reason))
                frozen.append(field)
                del changes[field]
        frozen.sort()
        if not changes:
            action = self._action(name, "unchanged")
            if frozen:
                action["unchangeable"] = frozen
            return current, action, ({}, {})
        obj = self.simulate(name, current, changes) if self.check_mode else self.update(current, desired, changes)
        action = self._action(name, "updated", sorted(changes))
        if frozen:
            action["unchangeable"] = frozen
        return obj, action, self.diff_of(current, obj, changes)

    def _immutable(self, name, current, changes, frozen):
        detail = "; ".join("%s is %r on the server, %r declared" % (
            f, self.read(current, f) if f not in self.secret_fields else MASK, changes[f]) for f in frozen)
        message = "%s %r: %s. %s" % (self.label, name, detail, self.immutable_hint())
        if self.immutable_fails:
            raise LiveKitError(message)
        self.warnings.append(message)

    def immutable_hint(self):
        return "The server cannot change these fields on an existing %s." % self.label

    def _action(self, name, action, fields=None):
        result = {self.name_key: name, "action": action}
        if fields:
            result["fields"] = fields
        return result

    # -- module entry point -------------------------------------------------------------------
    def run_module(self, bulk_option, single_fields):
        """Reconcile the single object (``single_fields`` of the options) or the list in
        ``bulk_option``, and exit."""
        params = self.module.params
        bulk = bulk_option is not None and params.get(bulk_option) is not None
        if bulk:
            specs = params[bulk_option]
        else:
            specs = [dict((f, params.get(f)) for f in single_fields)]
        objects, actions, diff = run(self.module, lambda: self.reconcile(specs))
        changed = any(a["action"] != "unchanged" for a in actions)
        result = dict(changed=changed, actions=actions)
        if bulk:
            result[self.plural] = objects
        else:
            name = specs[0][self.name_key]
            result[self.kind] = objects[0] if objects else {}
            diff = {"before": diff["before"].get(name, {}), "after": diff["after"].get(name, {})}
        if self.module._diff:
            result["diff"] = diff
        for warning in self.warnings:
            self.module.warn(warning)
        self.module.exit_json(**result)
