"""Write the AWX survey specs of the job templates (extras/awx/surveys/<name>.json).

The source is extras/awx/surveys.yml: which variables each job template asks for. A role option takes its
type, choices, default and description from the role's meta/argument_specs.yml; a playbook variable from its
own spec in surveys.yml. `--check` writes nothing and exits 1 when a file differs from what would be written.
"""

import argparse
import json
import os
import re
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = os.path.join("extras", "awx", "surveys.yml")
OUT_DIR = os.path.join("extras", "awx", "surveys")
TEXT_MAX = 1024

# Ansible doc markup -> plain text: C(x), V(x), O(x), I(x), E(x), M(x), B(x), U(x), L(text,url).
_MARKUP = re.compile(r"\b[CVOIEMBU]\(([^()]*)\)")
_LINK = re.compile(r"\bL\(([^,()]*),[^()]*\)")


class SurveyError(Exception):
    pass


def plain(description):
    if isinstance(description, list):
        description = " ".join(description)
    text = _LINK.sub(r"\1", _MARKUP.sub(r"\1", description or ""))
    return " ".join(text.split())


def question_type(spec):
    """AWX question type of an argument spec option, or SurveyError when a survey cannot carry it."""
    kind = spec.get("type", "str")
    if kind in ("str", "path"):
        if spec.get("no_log"):
            return "password"
        return "multiplechoice" if spec.get("choices") else "text"
    if kind == "int":
        return "integer"
    if kind == "float":
        return "float"
    if kind == "list" and spec.get("elements", "str") == "str" and spec.get("choices"):
        return "multiselect"
    # bool: an AWX answer is a string ("true"), which the roles' conditionals refuse; dict, raw and free
    # lists have no survey type. These stay in the inventory.
    raise SurveyError("type %s has no survey question type" % kind)


def role_options(root, role):
    path = os.path.join(root, "roles", role, "meta", "argument_specs.yml")
    with open(path) as f:
        return yaml.safe_load(f)["argument_specs"]["main"]["options"]


def question(root, item):
    """One survey question from one entry of surveys.yml."""
    variable = item["variable"]
    if "role" in item:
        options = role_options(root, item["role"])
        if variable not in options:
            raise SurveyError("%s is not an option of the role %s" % (variable, item["role"]))
        spec = options[variable]
    else:
        spec = item["spec"]
    kind = question_type(spec)
    required = bool(item.get("required", spec.get("required", False)))
    description = plain(spec.get("description"))
    q = {
        "question_name": item["question"],
        "question_description": description,
        "variable": variable,
        "type": kind,
        "required": required,
    }
    if kind in ("text", "password"):
        q["min"] = 1 if required else 0
        q["max"] = TEXT_MAX
    elif kind in ("integer", "float"):
        q["min"] = item.get("min", "")
        q["max"] = item.get("max", "")
    if kind in ("multiplechoice", "multiselect"):
        q["choices"] = [str(c) for c in spec["choices"]]
    # A default is passed on every launch, answered or not: only a required question may have one, and never
    # a password (AWX would store it in the template).
    if "default" in spec and spec["default"] not in (None, "") and kind != "password":
        if required:
            q["default"] = spec["default"]
        else:
            q["question_description"] = "%s Empty keeps the inventory's value (default: %s)." % (
                description, _shown(spec["default"]))
    return q


def _shown(value):
    return json.dumps(value) if not isinstance(value, str) else value


def surveys(root=ROOT):
    """{name: (playbook, survey spec)} from surveys.yml."""
    with open(os.path.join(root, SOURCE)) as f:
        source = yaml.safe_load(f)["surveys"]
    out = {}
    for name, survey in source.items():
        spec = [question(root, item) for item in survey["questions"]]
        out[name] = (survey["playbook"], {"name": survey["name"], "description": survey["description"], "spec": spec})
    return out


def render(survey):
    return json.dumps(survey, indent=2) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when a file would change")
    args = parser.parse_args(argv)
    out_dir = os.path.join(ROOT, OUT_DIR)
    stale = []
    wanted = set()
    for name, (_playbook, survey) in sorted(surveys().items()):
        path = os.path.join(out_dir, name + ".json")
        wanted.add(path)
        text = render(survey)
        current = None
        if os.path.exists(path):
            with open(path) as f:
                current = f.read()
        if current != text:
            stale.append(path)
            if not args.check:
                os.makedirs(out_dir, exist_ok=True)
                with open(path, "w") as f:
                    f.write(text)
    extra = [os.path.join(out_dir, n) for n in sorted(os.listdir(out_dir))] if os.path.isdir(out_dir) else []
    extra = [p for p in extra if p.endswith(".json") and p not in wanted]
    for path in extra:
        stale.append(path)
        if not args.check:
            os.remove(path)
    for path in stale:
        print(("differs: " if args.check else "written: ") + os.path.relpath(path, ROOT))
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
