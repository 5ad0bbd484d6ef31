"""AWX survey specs (extras/awx/surveys/*.json): written by scripts/awx_surveys.py, matching the roles' argument specs."""

import importlib.util
import json
import os

import pytest
import yaml
from conftest import ROOT

_spec = importlib.util.spec_from_file_location("awx_surveys", os.path.join(ROOT, "scripts", "awx_surveys.py"))
awx_surveys = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(awx_surveys)

SURVEYS = awx_surveys.surveys(ROOT)
with open(os.path.join(ROOT, awx_surveys.SOURCE)) as _f:
    SOURCE = yaml.safe_load(_f)["surveys"]
TYPES = {"text", "password", "integer", "float", "multiplechoice", "multiselect"}


def awx_errors(q, value):
    """What AWX's survey validation (SurveyJobTemplateMixin._survey_element_validation) says of one answer."""
    kind = q["type"]
    if kind in ("text", "password"):
        if not isinstance(value, str):
            return ["expected a string"]
        if q.get("min") not in ("", None) and len(value) < int(q["min"]):
            return ["too short"]
        if q.get("max") not in ("", None) and len(value) > int(q["max"]):
            return ["too long"]
    elif kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            return ["expected an integer"]
    elif kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return ["expected a number"]
    elif kind == "multiplechoice" and value not in q["choices"]:
        return ["not a choice"]
    elif kind == "multiselect" and (not isinstance(value, list) or set(value) - set(q["choices"])):
        return ["not a list of choices"]
    if kind in ("integer", "float"):
        if q.get("min") not in ("", None) and value < float(q["min"]):
            return ["too small"]
        if q.get("max") not in ("", None) and value > float(q["max"]):
            return ["too large"]
    return []


def committed(name):
    with open(os.path.join(ROOT, awx_surveys.OUT_DIR, name + ".json")) as f:
        return f.read()


def test_files_are_what_the_script_writes():
    files = sorted(f[:-5] for f in os.listdir(os.path.join(ROOT, awx_surveys.OUT_DIR)) if f.endswith(".json"))
    assert files == sorted(SURVEYS), "run scripts/awx_surveys.py"
    for name, (_playbook, survey) in SURVEYS.items():
        assert committed(name) == awx_surveys.render(survey), "%s.json is stale: run scripts/awx_surveys.py" % name


def test_check_mode_passes_on_the_committed_files():
    assert awx_surveys.main(["--check"]) == 0


@pytest.mark.parametrize("name", sorted(SURVEYS))
def test_survey_matches_argument_specs(name):
    playbook, survey = SURVEYS[name]
    assert os.path.isfile(os.path.join(ROOT, playbook))
    with open(os.path.join(ROOT, playbook)) as f:
        playbook_text = f.read()
    assert survey["name"] and survey["description"]
    variables = [q["variable"] for q in survey["spec"]]
    assert len(variables) == len(set(variables)), "a variable is asked twice"
    for item, q in zip(SOURCE[name]["questions"], survey["spec"]):
        assert q["type"] in TYPES and q["question_name"] and q["question_description"]
        if "role" in item:
            spec = awx_surveys.role_options(ROOT, item["role"])[q["variable"]]
        else:
            spec = item["spec"]
            # a playbook's own variable: the playbook reads it, and checks the same choices
            assert q["variable"] in playbook_text, "%s does not read %s" % (playbook, q["variable"])
            for choice in spec.get("choices", []):
                assert "'%s'" % choice in playbook_text, "%s: choice %s is not in %s" % (q["variable"], choice, playbook)
        kind = spec.get("type", "str")
        expected = {"int": "integer", "float": "float"}.get(kind)
        if kind in ("str", "path"):
            expected = "password" if spec.get("no_log") else ("multiplechoice" if spec.get("choices") else "text")
        assert q["type"] == expected, q["variable"]
        assert q.get("choices") == ([str(c) for c in spec["choices"]] if spec.get("choices") else None)
        assert q["required"] == bool(item.get("required", spec.get("required", False)))
        if q["required"] and spec.get("default") not in (None, ""):
            assert q["default"] == spec["default"]
        else:
            # AWX passes a default on every launch: it would override the inventory on every host
            assert "default" not in q, "%s: a question that is not required has no default" % q["variable"]
        if "default" in q:
            assert awx_errors(q, q["default"]) == [], q["variable"]
        assert q["type"] != "password" or "default" not in q


def test_every_no_log_text_option_becomes_a_password_question():
    roles = sorted(r for r in os.listdir(os.path.join(ROOT, "roles")) if not r.startswith("_"))
    secret_text = 0
    for role in roles:
        for name, spec in awx_surveys.role_options(ROOT, role).items():
            if spec.get("no_log") and spec.get("type", "str") in ("str", "path"):
                secret_text += 1
                assert awx_surveys.question_type(spec) == "password", name
    assert secret_text > 0


@pytest.mark.parametrize("spec", [{"type": "bool"}, {"type": "dict"}, {"type": "raw"}, {"type": "list", "elements": "str"},
                                  {"type": "list", "elements": "dict", "choices": ["a"]}])
def test_options_a_survey_cannot_carry_are_refused(spec):
    with pytest.raises(awx_surveys.SurveyError):
        awx_surveys.question_type(spec)


def test_unknown_role_option_is_refused(tmp_path):
    os.makedirs(tmp_path / "roles" / "r" / "meta")
    (tmp_path / "roles" / "r" / "meta" / "argument_specs.yml").write_text(
        yaml.safe_dump({"argument_specs": {"main": {"options": {"r_a": {"type": "str"}}}}}))
    with pytest.raises(awx_surveys.SurveyError, match="r_b is not an option of the role r"):
        awx_surveys.question(str(tmp_path), {"variable": "r_b", "role": "r", "question": "B"})


def test_surveys_are_valid_json_with_awx_keys():
    for name in SURVEYS:
        survey = json.loads(committed(name))
        assert set(survey) == {"name", "description", "spec"}
        for q in survey["spec"]:
            assert {"question_name", "question_description", "variable", "type", "required"} <= set(q)
