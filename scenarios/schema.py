"""The JSON Schema of scenario files, built from the step table (``scenarios.steps``).

It ships as ``scenarios/scenario.schema.json`` for editors (``# yaml-language-server: $schema=…``) and the parser
validates every file against the same pieces. Regenerate with ``python -m carriersim.scenarios.schema >
scenarios/scenario.schema.json``; a test checks the committed file is current.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from .steps import (ACCOUNT, BOOL, CARD_FIELDS, IMEI, MODIFIERS, MONEY, PLAN, STEPS, TEXT, StepKind)
from .target import CAPABILITIES

S = dict[str, Any]
SCHEMA_ID = "https://carriersim.dev/schemas/scenario.schema.json"
RULE_ID: S = {"type": "string", "pattern": r"^[A-Z]+-[0-9]+$", "description": "a rule id of RULES.md"}
ID: S = {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_-]*$",
         "description": "a name for later steps: a letter, then letters, digits, _ or -"}


def _obj(props: S, required: tuple[str, ...] | list[str] = (), *, extra: Any = False, **more: Any) -> S:
    out: S = {"type": "object", "properties": props, "additionalProperties": extra, **more}
    if required:
        out["required"] = list(required)
    return out


def step_args_schema(kind: StepKind) -> S:
    """The schema of a step's argument mapping (after a scalar shorthand is expanded)."""
    return _obj(kind.args, kind.required, extra=True if kind.open_args else False)


def step_schema(kind: StepKind) -> S:
    """One step as written: ``{kind: args-or-shorthand, modifier: …}``."""
    value: S = {"anyOf": [step_args_schema(kind), {"type": "null"}]}
    if kind.shorthand:
        value["anyOf"].append({"type": ["string", "number"]})
    props: S = {kind.name: value, **{m: schema for m, (schema, _) in MODIFIERS.items()}}
    return _obj(props, (kind.name,), description=kind.summary)


CARD_SPEC: S = _obj({
    "id": ID, "account": ACCOUNT, "plan": PLAN, "payment": MONEY, "auto_suspend": BOOL, "auto_renew": BOOL,
    "testing": BOOL, "activate": BOOL, "imei": IMEI, "verified": BOOL, "balance": MONEY, "pool": TEXT,
})
assert set(CARD_SPEC["properties"]) == set(CARD_FIELDS)

GIVEN: S = _obj({
    "start": {"type": "string", "minLength": 1, "description": "the start time, ISO-8601, carrier-local "
              "(default 2027-01-01T00:00:00)"},
    "seed": {"type": "integer"},
    "accounts": {"type": "array", "items": _obj({"id": ID, "name": TEXT, "kind": {"enum": ["enterprise",
                                                                                          "personal"]},
                                                 "verified": BOOL}, ("id",))},
    "cards": {"type": "array", "items": CARD_SPEC},
    "pools": {"type": "array", "items": _obj({"id": ID, "account": ACCOUNT, "carrier": TEXT}, ("id",))},
    "devices": {"type": "array", "items": ID},
})

MARK_OPTIONS: S = _obj({"reason": TEXT, "strict": {"type": "boolean"},
                       "carriers": {"type": "array", "items": TEXT, "minItems": 1}})
MARK: S = {"anyOf": [
    {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$"},
    {"type": "object", "minProperties": 1, "maxProperties": 1,
     "propertyNames": {"pattern": r"^[A-Za-z_][A-Za-z0-9_]*$"},
     "additionalProperties": {"anyOf": [{"type": "string"}, MARK_OPTIONS]}}],
    "description": "a pytest mark: a name (slow), or {skip: reason}, {xfail: reason}, {xfail: {reason, strict, "
                   "carriers}}"}

SCENARIO: S = _obj({
    "name": TEXT,
    "description": {"type": "string"},
    "rules": {"type": "array", "items": RULE_ID, "minItems": 1},
    "carriers": {"anyOf": [{"type": "array", "items": TEXT, "minItems": 1}, {"const": "all"}]},
    "requires": {"type": "array", "items": {"enum": sorted(CAPABILITIES)}},
    "given": GIVEN,
    "steps": {"type": "array", "items": {"$ref": "#/$defs/step"}, "minItems": 1},
    "marks": {"type": "array", "items": MARK, "description": "pytest marks for this scenario's items (the pytest "
              "plugin applies them; carriersim run and conformance do not)"},
}, ("name", "rules", "steps"))


def document_schema() -> S:
    """The whole file: one scenario, or a list of them."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "carriersim scenario file",
        "description": "One scenario or a list of scenarios: given a world, steps that act on it and expectations.",
        "anyOf": [{"$ref": "#/$defs/scenario"}, {"type": "array", "items": {"$ref": "#/$defs/scenario"},
                                                 "minItems": 1}],
        "$defs": {
            "scenario": SCENARIO,
            "step": {"anyOf": [{"$ref": f"#/$defs/step_{k.name}"} for k in STEPS]},
            **{f"step_{k.name}": step_schema(k) for k in STEPS},
        },
    }


def main() -> None:
    json.dump(document_schema(), sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
