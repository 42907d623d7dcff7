"""The shipped JSON Schema is current and agrees with the parser on the library."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator

from carriersim import scenarios
from carriersim.scenarios.schema import document_schema

SCHEMA_FILE = Path(scenarios.__file__).parent / "scenario.schema.json"
LIBRARY = Path(scenarios.__file__).parent / "library"


def test_committed_schema_matches_the_step_table():
    assert json.loads(SCHEMA_FILE.read_text()) == document_schema(), \
        "regenerate: python -m carriersim.scenarios.schema > scenarios/scenario.schema.json"


def test_schema_is_valid_and_accepts_every_library_file():
    Draft202012Validator.check_schema(document_schema())
    validator = Draft202012Validator(document_schema())
    files = sorted(LIBRARY.glob("*.yaml"))
    assert files
    for f in files:
        data = yaml.load(f.read_text(), Loader=yaml.BaseLoader if False else yaml.SafeLoader)
        data = json.loads(json.dumps(data, default=str))  # YAML timestamps as text, as the parser keeps them
        errors = [e.message for e in validator.iter_errors(data)]
        assert not errors, f"{f.name}: {errors[:3]}"


def test_schema_rejects_an_unknown_step():
    validator = Draft202012Validator(document_schema())
    bad = {"name": "x", "rules": ["PLAN-1"], "steps": [{"advence": "1 day"}]}
    assert list(validator.iter_errors(bad))
