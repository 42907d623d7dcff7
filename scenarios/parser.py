"""Scenario files to ``Scenario`` objects, or every problem with its file, line and column.

Checks run in layers, so that each problem is reported in the words of the layer that understands it: YAML syntax
(``source``), the shape of the scenario (the JSON Schema of ``schema``), each step (one action, known modifiers,
arguments), then meaning (known carriers, rule ids, cards, accounts, pools, variables, time expressions). All
problems of a file are collected before anything runs.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable

import jsonschema
from jsonschema import Draft202012Validator

from carriersim.simulator.catalogue import rule_ids
from carriersim.simulator.http.spec import CARD as CARD_VIEW
from carriersim.simulator.profile import builtin_profiles

from . import timeexpr
from .model import (ALL_CARRIERS, DEFAULT_ACCOUNT, AccountSpec, CardSpec, Given, Mark, PoolSpec, Scenario, Step)
from .schema import GIVEN, SCENARIO, step_args_schema
from .source import Located, Problem, ScenarioError, Where, load
from .steps import BY_NAME, CARD_FIELDS, EXPECT_ONLY, MODIFIERS
from .suggest import nearest
from .target import RULE_CAPABILITIES

VARIABLE = re.compile(r"\$\{([^}]*)\}")
YES = ("yes", "y", "on")  # YAML 1.1's words for true (no, n, off: false)
#: plan selectors (the runner resolves them per carrier): monthly, quarterly:term, annual:2
SELECTOR = re.compile(r"^(monthly|quarterly|annual)(?::(month|term))?(?::([1-9][0-9]*))?$")
CARD_VARIABLE_FIELDS = tuple(dict.fromkeys(("iccid", "account", *CARD_VIEW["properties"])))
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
CARD_VIEW_FIELDS = tuple(CARD_VIEW["properties"])
# the scenario's own fields; given and the steps are checked by their own layers (each problem reported once)
_SCENARIO_SHAPE = {**SCENARIO, "properties": {**SCENARIO["properties"], "given": {"type": "object"},
                                              "steps": {"type": "array", "items": {}, "minItems": 1}}}
_VALIDATORS: dict[int, Draft202012Validator] = {}


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    key = id(schema)
    if key not in _VALIDATORS:
        _VALIDATORS[key] = Draft202012Validator(schema)
    return _VALIDATORS[key]


def known_carriers() -> tuple[str, ...]:
    return tuple(p.id for p in builtin_profiles())


def known_rules() -> tuple[str, ...]:
    return tuple(rule_ids())


_PROFILES: dict[str, dict[str, Any]] = {}


def PROFILES() -> dict[str, dict[str, Any]]:
    """The shipped carriers' profiles as scenarios read them (``${profile.…}``, plan and add-on catalogues)."""
    if not _PROFILES:
        _PROFILES.update({p.id: p.raw for p in builtin_profiles()})
    return _PROFILES


# ---------------------------------------------------------------------------------------------- entry points

def parse_file(path: str | Path, *, carriers: Iterable[str] | None = None) -> list[Scenario]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError([Problem(Where(str(path), 1, 1), f"not UTF-8 text ({exc.reason}).")]) from None
    return parse_text(text, str(path), carriers=carriers)


def parse_text(text: str, file: str = "<scenario>", *, carriers: Iterable[str] | None = None) -> list[Scenario]:
    located = load(text, file)
    return _Parser(located, tuple(carriers) if carriers is not None else known_carriers()).scenarios()


def load_paths(paths: Iterable[str | Path], *, carriers: Iterable[str] | None = None) -> list[Scenario]:
    """Every scenario in the given files and folders (``*.yaml``/``*.yml``, recursively, in name order). All files
    are checked before this returns; problems of every file are raised together."""
    files: list[Path] = []
    problems: list[Problem] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            files.extend(sorted(f for f in p.rglob("*") if f.suffix in (".yaml", ".yml") and f.is_file()))
        elif p.is_file():
            files.append(p)
        else:
            problems.append(Problem(Where(str(p), 0, 0), "no such file or folder."))
    scenarios: list[Scenario] = []
    seen: dict[str, Scenario] = {}
    for f in files:
        try:
            for sc in parse_file(f, carriers=carriers):
                if sc.id in seen:
                    problems.append(Problem(sc.where, f"a second scenario named {sc.name!r} in this file; names "
                                            "must be unique within a file."))
                seen[sc.id] = sc
                scenarios.append(sc)
        except ScenarioError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ScenarioError(problems)
    return scenarios


# ---------------------------------------------------------------------------------------------- the parser

def _dotted(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _field(path: tuple[Any, ...]) -> str:
    """A path as a person reads it; steps are counted from 1, as a run failure counts them (``step 3 use.mb``)."""
    if len(path) == 0 or (len(path) == 1 and isinstance(path[0], int)):
        return "the scenario" + (f" [{path[0]}]" if path else "")
    for i, part in enumerate(path[:-1]):
        if part == "steps" and isinstance(path[i + 1], int):
            rest = _dotted(path[i + 2:])
            return f"step {path[i + 1] + 1}" + (f" {rest}" if rest else "")
    return _dotted(path) or "the file"


class _Parser:
    def __init__(self, located: Located, carriers: tuple[str, ...]) -> None:
        self.doc = located
        self.carriers = carriers
        self.rules = known_rules()
        self.problems: list[Problem] = []
        self.scenario_carriers: tuple[str, ...] = ()
        self.refusing = False  # the step being checked expects a refusal (an unknown plan may be the point)

    def problem(self, path: tuple[Any, ...], message: str, *, key: bool = False) -> None:
        where = self.doc.at(path, key=key)
        word = self.doc.words.get(tuple(path))
        if word is not None and not key:
            message += (f" (YAML reads the unquoted word {word!r} as {str(word.lower() in YES).lower()}; "
                        f"quote it, '{word}', to mean the word)")
        if any(p.where == where and p.message == message for p in self.problems):
            return
        self.problems.append(Problem(where, message, self.doc.line(where)))

    def scenarios(self) -> list[Scenario]:
        data = self.doc.data
        items = list(enumerate(data)) if isinstance(data, list) else [(None, data)]
        out: list[Scenario] = []
        for index, item in items:
            base: tuple[Any, ...] = () if index is None else (index,)
            if not isinstance(item, dict):
                self.problem(base, "a scenario is a mapping with name, rules, given and steps; found "
                             f"{type(item).__name__} {item!r}.")
                continue
            scenario = self.scenario(item, base)
            if scenario is not None:
                out.append(scenario)
        if self.problems:
            raise ScenarioError(sorted(self.problems, key=lambda p: (p.where.line, p.where.column)))
        return out

    # ---------------------------------------------------------------- schema errors in a person's words
    def schema_errors(self, schema: dict[str, Any], value: Any, path: tuple[Any, ...]) -> bool:
        ok = True
        for err in _validator(schema).iter_errors(value):
            ok = False
            self.explain(err, path)
        return ok

    def explain(self, err: jsonschema.ValidationError, base: tuple[Any, ...]) -> None:
        path = base + tuple(err.absolute_path)
        name = _field(path)
        schema, value = err.schema, err.instance
        if err.validator == "additionalProperties" and isinstance(value, dict):
            allowed = list(schema.get("properties", {}))
            for key in value:
                if key not in allowed:
                    self.problem(path + (key,), f"unknown field {key!r} in {name}{nearest(key, allowed)}; "
                                 f"expected one of: {', '.join(allowed)}.", key=True)
            return
        if err.validator == "required":
            missing = re.findall(r"'([^']+)' is a required property", err.message)
            self.problem(path, f"{name} needs {', '.join(missing) or err.message}.")
            return
        if err.validator == "enum":
            options = [str(o) for o in schema["enum"]]
            self.problem(path, f"{name}: {value!r} is not one of {', '.join(options)}{nearest(value, options)}.")
            return
        described = schema.get("description")
        if err.validator == "type":
            wanted = schema["type"] if isinstance(schema["type"], str) else " or ".join(schema["type"])
            what = {"object": "a mapping (key: value)", "array": "a list", "string": "text",
                    "integer": "a whole number"}.get(wanted, wanted)
            self.problem(path, f"{name} should be {what}, not {type(value).__name__} {value!r}.")
            return
        if err.validator == "anyOf" and described:
            self.problem(path, f"{name} should be {described}, not {value!r}.")
            return
        if err.validator == "anyOf":
            best = jsonschema.exceptions.best_match(err.context) if err.context else None
            if best is not None:
                self.explain(best, base + tuple(err.absolute_path)[:0])
                return
        self.problem(path, f"{name}: {err.message}.")

    # ---------------------------------------------------------------- a scenario
    def scenario(self, data: dict[str, Any], base: tuple[Any, ...]) -> Scenario | None:
        before = len(self.problems)
        if not self.schema_errors(_SCENARIO_SHAPE, data, base):
            if any(k not in _SCENARIO_SHAPE["properties"] for k in data) or "steps" not in data:
                return None
        name = str(data.get("name", "?"))
        carriers = self.carrier_list(data.get("carriers", "all"), base + ("carriers",))
        self.scenario_carriers = tuple(c for c in carriers if c in PROFILES())
        for i, rule in enumerate(data.get("rules", []) or []):
            if isinstance(rule, str) and rule not in self.rules:
                self.problem(base + ("rules", i), f"{rule!r} is not a rule id of RULES.md{nearest(rule, self.rules)}.")
        marks = self.marks(data.get("marks") or [], base + ("marks",), carriers)
        names = _Names()
        given = self.given(data.get("given") or {}, base + ("given",), names)
        steps = []
        raw_steps = data.get("steps")
        if isinstance(raw_steps, list):
            for i, raw in enumerate(raw_steps):
                step = self.step(raw, base + ("steps", i), i + 1, names)
                if step is not None:
                    steps.append(step)
        if len(self.problems) > before:
            return None
        needs = set(data.get("requires", []))
        needs.update(RULE_CAPABILITIES[r] for r in data.get("rules", []) if r in RULE_CAPABILITIES)
        for step in steps:
            needs.update(BY_NAME[step.kind].needs)
            if "within" in step.modifiers:
                needs.add("time_travel")
            if "as" in step.modifiers:
                needs.add("accounts")
            if step.kind == "use":
                needs.update(cap for arg, cap in (("region", "regions"), ("imei", "device_binding"))
                             if arg in step.args)
            if step.kind == "open_card" and step.args.get("testing") is True:
                needs.add("testing_state")
            if step.kind == "expect":
                if {"history", "events", "no_events"} & set(step.args):
                    needs.add("history")
                if "ledger" in step.args:
                    needs.add("ledger")
        if any(c.testing is True for c in given.cards):
            needs.add("testing_state")
        if given.pools:
            needs.add("pools")
        return Scenario(name=name, rules=tuple(data.get("rules", [])), carriers=carriers, given=given,
                        steps=tuple(steps), file=self.doc.file, where=self.doc.at(base),
                        description=str(data.get("description", "")), needs=frozenset(needs), marks=marks)

    def marks(self, value: Any, path: tuple[Any, ...], carriers: tuple[str, ...]) -> tuple[Mark, ...]:
        """pytest marks (the schema checked their shape): ``skip``, ``{xfail: reason}``, ``{xfail: {reason,
        strict, carriers}}`` or a marker name."""
        out = []
        for i, raw in enumerate(value if isinstance(value, list) else []):
            name, options = (raw, {}) if isinstance(raw, str) else next(iter(raw.items()))
            options = {"reason": options} if isinstance(options, str) else dict(options or {})
            only = tuple(str(c) for c in options.get("carriers", ()))
            for j, c in enumerate(only):
                if c not in carriers:
                    self.problem(path + (i, name, "carriers", j), f"marks: {c!r} is not one of this scenario's "
                                 f"carriers ({', '.join(carriers)}){nearest(c, carriers)}.")
            if name in ("skipif", "parametrize", "usefixtures", "filterwarnings"):
                self.problem(path + (i,), f"marks: {name!r} cannot be set from a scenario file; use skip or xfail "
                             "(optionally for some carriers) or a marker name.")
            out.append(Mark(str(name), str(options.get("reason", "")), options.get("strict"), only))
        return tuple(out)

    def carrier_list(self, value: Any, path: tuple[Any, ...]) -> tuple[str, ...]:
        if value == "all":
            return tuple(c for c in ALL_CARRIERS if c in self.carriers) or self.carriers
        out = []
        for i, c in enumerate(value if isinstance(value, list) else []):
            if c not in self.carriers:
                self.problem(path + (i,), f"unknown carrier {c!r}{nearest(c, self.carriers)}; known carriers: "
                             f"{', '.join(self.carriers)} (add one with a profile file).")
            out.append(str(c))
        return tuple(out)

    # ---------------------------------------------------------------- given
    def given(self, data: Any, path: tuple[Any, ...], names: "_Names") -> Given:
        if not isinstance(data, dict) or not self.schema_errors(GIVEN, data, path):
            names.quietly_given(data)
            return Given()
        start = str(data.get("start", Given.start))
        try:
            expr = timeexpr.parse(start)
            if expr.base is None or expr.offsets or expr.base in timeexpr.POINTS:
                raise timeexpr.TimeExprError(f"{start!r} is not a time; write it like 2027-01-31T23:59:59")
        except timeexpr.TimeExprError as exc:
            self.problem(path + ("start",), f"given.start: {exc}.")
        accounts = tuple(AccountSpec(a["id"], a.get("name", a["id"]), a.get("kind", "enterprise"),
                                     a.get("verified", True)) for a in data.get("accounts", []))
        if not accounts:
            accounts = (AccountSpec(DEFAULT_ACCOUNT, "Acme IoT"),)
        for i, a in enumerate(accounts):
            names.declare(self, "account", a.id, path + ("accounts", i, "id"))
        for i, d in enumerate(data.get("devices", [])):
            names.declare(self, "device", d, path + ("devices", i))
        pools = []
        for i, p in enumerate(data.get("pools", [])):
            account = p.get("account", accounts[0].id)
            names.use(self, "account", account, path + ("pools", i, "account"))
            if p.get("carrier") is not None and p["carrier"] not in self.carriers:
                self.problem(path + ("pools", i, "carrier"), f"unknown carrier {p['carrier']!r}"
                             f"{nearest(p['carrier'], self.carriers)}.")
            names.declare(self, "pool", p["id"], path + ("pools", i, "id"))
            pools.append(PoolSpec(p["id"], account, p.get("carrier")))
        cards = []
        for i, c in enumerate(data.get("cards", [])):
            cpath = path + ("cards", i)
            card_id = c.get("id", "card" if i == 0 else f"card{i + 1}")
            account = c.get("account", accounts[0].id)
            names.use(self, "account", account, cpath + ("account",))
            if c.get("pool") is not None:
                names.use(self, "pool", c["pool"], cpath + ("pool",))
            self.check_values(c, cpath, names)
            names.declare(self, "card", card_id, cpath + ("id",) if "id" in c else cpath)
            cards.append(CardSpec(where=self.doc.at(cpath), **{**{k: c[k] for k in CARD_FIELDS if k in c},
                                                                "id": card_id, "account": account}))
        return Given(start=start, seed=int(data.get("seed", 1)), accounts=accounts, cards=tuple(cards),
                     pools=tuple(pools), devices=tuple(data.get("devices", [])))

    # ---------------------------------------------------------------- a step
    def step(self, raw: Any, path: tuple[Any, ...], index: int, names: "_Names") -> Step | None:
        """One step; a broken one still declares the names it would (its card, pool, saved answer), so that one
        mistake gives one error and not a "no card named …" on every later step."""
        self.refusing = isinstance(raw, dict) and "refused" in raw
        step = self._step(raw, path, index, names)
        if step is None and isinstance(raw, dict):
            names.quietly(raw)
        self.refusing = False
        return step

    def _step(self, raw: Any, path: tuple[Any, ...], index: int, names: "_Names") -> Step | None:
        if not isinstance(raw, dict):
            self.problem(path, f"step {index} should be a mapping like '- advance: 1 day', not "
                         f"{type(raw).__name__} {raw!r}.")
            return None
        actions = [k for k in raw if k not in MODIFIERS]
        if not actions:
            self.problem(path, f"step {index} has no action; a step is one of: {', '.join(BY_NAME)}.")
            return None
        near_modifier = [a for a in actions if a not in BY_NAME and nearest(a, MODIFIERS)]
        if near_modifier and len(actions) > 1:
            bad = near_modifier[0]
            self.problem(path + (bad,), f"unknown modifier {bad!r}{nearest(bad, MODIFIERS)}; a step's modifiers are "
                         f"{', '.join(MODIFIERS)}.", key=True)
            return None
        if len(actions) > 1:
            self.problem(path + (actions[1],), f"step {index} has two actions ({actions[0]!r} and {actions[1]!r}); "
                         "write one action a step.", key=True)
            return None
        kind_name = actions[0]
        kind = BY_NAME.get(kind_name)
        if kind is None:
            self.problem(path + (kind_name,), f"unknown step {kind_name!r}{nearest(kind_name, [*BY_NAME, *MODIFIERS])}"
                         f"; the steps are: {', '.join(BY_NAME)}.", key=True)
            return None
        value = raw[kind_name]
        apath = path + (kind_name,)
        if value is None:
            args: dict[str, Any] = {}
        elif isinstance(value, dict):
            args = dict(value)
        elif kind.shorthand and isinstance(value, (str, int, float)) and not isinstance(value, bool):
            args = {kind.shorthand: value if kind.shorthand not in ("to", "for") else str(value)}
        else:
            hint = f"a mapping of its arguments or the {kind.shorthand} alone" if kind.shorthand else \
                "a mapping of its arguments"
            self.problem(apath, f"{kind_name} takes {hint}, not {type(value).__name__} {value!r}.")
            return None
        ok = self.schema_errors(step_args_schema(kind), args, apath)
        for key in raw:
            if key != kind_name:
                if key in EXPECT_ONLY and kind.group != "expect":
                    self.problem(path + (key,), f"{key!r} belongs to expectations; {kind_name} is an action.",
                                 key=True)
                ok = self.schema_errors(MODIFIERS[key][0], raw[key], path + (key,)) and ok
        if kind.name == "expect":
            for key in args:
                if key not in kind.args and key not in CARD_VIEW_FIELDS:
                    self.problem(apath + (key,), f"expect cannot check {key!r}"
                                 f"{nearest(key, [*kind.args, *CARD_VIEW_FIELDS])}; it checks "
                                 f"{', '.join(kind.args)} or any field of the card ({', '.join(CARD_VIEW_FIELDS)}).",
                                 key=True)
                    ok = False
        if not ok:
            return None
        self.check_values(args, apath, names)
        for key in ("within", "every"):
            if key in raw and not VARIABLE.search(str(raw[key])):
                self.check_time(raw[key], path + (key,), duration=True)
        if isinstance(raw.get("as"), str):
            names.use(self, "account", raw["as"], path + ("as",))
        for key in ("if", "unless", "returns", "refused"):
            if key in raw:
                self.check_variables(raw[key], path + (key,), names)
        if raw.get("every") is not None and "within" not in raw:
            self.problem(path + ("every",), "'every' goes with 'within'.", key=True)
        for new in ("id",):
            if new in args and kind.name in ("open_card", "swap", "create_pool"):
                names.declare(self, "pool" if kind.name == "create_pool" else "card", args[new], apath + (new,))
        if kind.name == "open_card" and "account" in args:
            names.use(self, "account", args["account"], apath + ("account",))
        if "save" in raw:
            names.saved.add(raw["save"])
        return Step(index=index, kind=kind_name, args=args, modifiers={k: v for k, v in raw.items() if k != kind_name},
                    where=self.doc.at(path), source=_one_line(raw))

    # ---------------------------------------------------------------- meaning of values
    def check_values(self, args: dict[str, Any], path: tuple[Any, ...], names: "_Names") -> None:
        for key, value in args.items():
            vpath = path + (key,)
            self.check_variables(value, vpath, names)
            if isinstance(value, str) and VARIABLE.search(value):
                continue
            if key == "card" or (key == "to" and path[-1] == "refund"):
                names.use(self, "card", value, vpath)
            elif key == "cards" and isinstance(value, list):
                for i, c in enumerate(value):
                    names.use(self, "card", c, vpath + (i,))
            elif key == "account":
                names.use(self, "account", value, vpath)
            elif key == "pool" and path[-1] in ("add_to_pool", "expect_pool"):
                names.use(self, "pool", value, vpath)
            elif key in ("to", "until", "effective_at", "time") and path[-1] != "refund":
                self.check_time(value, vpath)
            elif key == "for":
                self.check_time(value, vpath, duration=True)
            elif key == "plan" and isinstance(value, str):
                self.check_plan(value, vpath)
            elif key == "addon" and isinstance(value, str):
                self.check_addon(value, vpath)
            if isinstance(value, dict):
                self.check_nested(value, vpath)
            elif isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, dict):
                        self.check_nested(item, vpath + (i,))

    def check_plan(self, value: str, path: tuple[Any, ...]) -> None:
        """A plan code or selector must name a plan on every carrier the scenario runs on (a code that is the
        point of a refusal, ``refused: plan_not_found``, is left to the target)."""
        m = SELECTOR.match(value)
        missing = []
        for carrier in self.scenario_carriers:
            plans = PROFILES()[carrier].get("plans", [])
            if m:
                term, scope, nth = m.group(1), m.group(2), int(m.group(3) or 1)
                fits = [p for p in plans if p["term"] == term and (scope is None or p.get("quota_scope") == scope)]
                if len(fits) < nth:
                    missing.append(f"{carrier} has {len(fits)} ({', '.join(p['code'] for p in fits) or 'none'})")
            elif not any(p["code"] == value for p in plans) and not self.refusing:
                missing.append(carrier)
        if not missing:
            return
        if m:
            self.problem(path, f"plan {value!r}: not every carrier has such a plan: {'; '.join(missing)}; pick "
                         "another selector or name the carriers this scenario runs on.")
        else:
            codes = [p["code"] for c in self.scenario_carriers for p in PROFILES()[c].get("plans", [])
                     if p["code"] != value]
            self.problem(path, f"plan {value!r} is not a plan of {', '.join(missing)}{nearest(value, codes)}; name a "
                         "plan code of the carrier, or a selector that works on every carrier: monthly, quarterly, "
                         "annual, with :month/:term and :N (quarterly:term, monthly:2).")

    def check_addon(self, value: str, path: tuple[Any, ...]) -> None:
        if value in ("smallest", "largest") or self.refusing:
            return
        missing = [c for c in self.scenario_carriers
                   if not any(a["code"] == value for a in PROFILES()[c].get("addons", []))]
        if missing:
            codes = ["smallest", "largest", *(a["code"] for c in self.scenario_carriers
                                              for a in PROFILES()[c].get("addons", []) if a["code"] != value)]
            self.problem(path, f"add-on {value!r} is not sold by {', '.join(missing)}{nearest(value, codes)}; say "
                         "smallest or largest to mean an add-on of every carrier.")

    def check_profile_path(self, text: str, parts: list[str], path: tuple[Any, ...]) -> None:
        """``${profile.a.b}``: the path must exist in the profile of every carrier the scenario runs on."""
        for carrier in self.scenario_carriers:
            value: Any = PROFILES()[carrier]
            walked = ["profile"]
            for part in parts:
                if isinstance(value, dict) and part in value:
                    value = value[part]
                elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                    value = value[int(part)]
                else:
                    keys = list(value) if isinstance(value, dict) else []
                    where = ".".join(walked)
                    what = (f"has no {part!r}{nearest(part, keys)}; it has {', '.join(keys)}" if keys else
                            f"is {type(value).__name__ if value is not None else 'empty'} ({value!r}), with no {part!r}")
                    self.problem(path, f"${{{text}}}: {carrier}'s {where} {what}.")
                    return
                walked.append(part)

    def check_nested(self, value: dict[str, Any], path: tuple[Any, ...]) -> None:
        if path and path[-1] == "pending_change" and isinstance(value.get("plan"), str) \
                and not VARIABLE.search(value["plan"]):
            self.check_plan(value["plan"], path + ("plan",))
        count = value.get("count")
        if isinstance(count, dict) and isinstance(count.get("min"), int) and isinstance(count.get("max"), int) \
                and count["min"] > count["max"]:
            self.problem(path + ("count",), f"count: min {count['min']} is more than max {count['max']}; "
                         "no number of items could match.")
        for key in ("time", "effective_at"):
            if isinstance(value.get(key), str) and not VARIABLE.search(value[key]):
                self.check_time(value[key], path + (key,))

    def check_time(self, value: Any, path: tuple[Any, ...], *, duration: bool = False) -> None:
        try:
            expr = timeexpr.parse(str(value))
            if duration and expr.base is not None:
                raise timeexpr.TimeExprError(f"{value!r} is not a duration; write it like '3 days' or '2 hours'")
        except timeexpr.TimeExprError as exc:
            self.problem(path, f"{_field(path)}: {str(exc).rstrip('.')}.")

    def check_variables(self, value: Any, path: tuple[Any, ...], names: "_Names") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                self.check_variables(v, path + (k,), names)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                self.check_variables(v, path + (i,), names)
        elif isinstance(value, str):
            for m in VARIABLE.finditer(value):
                parts = [p for p in m.group(1).strip().split(".") if p]
                root = parts[0] if parts else ""
                known = names.roots()
                if root not in known:
                    self.problem(path, f"${{{m.group(1)}}}: nothing is named {root!r} here"
                                 f"{nearest(root, known)}; variables start with a card, account, pool or device "
                                 "name, a saved step, 'profile' or 'carrier'.")
                elif root == "profile":
                    self.check_profile_path(m.group(1).strip(), parts[1:], path)
                elif root in names.declared["card"] and len(parts) > 1 and parts[1] not in CARD_VARIABLE_FIELDS:
                    self.problem(path, f"${{{m.group(1)}}}: a card has no field {parts[1]!r}"
                                 f"{nearest(parts[1], CARD_VARIABLE_FIELDS)}; its fields are "
                                 f"{', '.join(CARD_VARIABLE_FIELDS)}.")


class _Names:
    """Names declared so far in a scenario (cards, accounts, pools, devices, saved answers)."""

    def __init__(self) -> None:
        self.declared: dict[str, dict[str, tuple[Any, ...]]] = {"card": {}, "account": {}, "pool": {}, "device": {}}
        self.saved: set[str] = set()

    def declare(self, parser: _Parser, what: str, name: Any, path: tuple[Any, ...]) -> None:
        if not isinstance(name, str) or not NAME.match(name):
            parser.problem(path, f"{name!r} is not a usable {what} name: a letter, then letters, digits, _ or -.")
            return
        if name in self.declared[what]:
            parser.problem(path, f"a {what} named {name!r} already exists; pick another name.")
        self.declared[what][name] = path

    def use(self, parser: _Parser, what: str, name: Any, path: tuple[Any, ...]) -> None:
        if name not in self.declared[what]:
            known = list(self.declared[what])
            parser.problem(path, f"no {what} named {name!r} so far{nearest(name, known)}; "
                           f"{'known: ' + ', '.join(known) if known else f'declare it in given.{what}s first'}.")

    def quietly(self, raw: dict[str, Any]) -> None:
        """The names a broken step would have declared, without checking them again (no second error)."""
        for key, value in raw.items():
            if key == "save" and isinstance(value, str):
                self.saved.add(value)
            elif key not in MODIFIERS:
                pool = key == "create_pool" or bool(nearest(key, ["create_pool"]))
                name = value.get("id") if isinstance(value, dict) else (value if pool else None)
                if isinstance(name, str):
                    self.declared["pool" if pool else "card"].setdefault(name, ())

    def quietly_given(self, data: Any) -> None:
        """The names a broken ``given`` declares, as far as they can be read."""
        data = data if isinstance(data, dict) else {}
        accounts = [a.get("id") for a in data.get("accounts") or [] if isinstance(a, dict)] or [DEFAULT_ACCOUNT]
        for what, items in (("account", accounts),
                            ("card", [c.get("id", "card" if i == 0 else f"card{i + 1}")
                                      for i, c in enumerate(data.get("cards") or []) if isinstance(c, dict)]),
                            ("pool", [p.get("id") for p in data.get("pools") or [] if isinstance(p, dict)]),
                            ("device", list(data.get("devices") or []))):
            for name in items if isinstance(items, list) else []:
                if isinstance(name, str):
                    self.declared[what].setdefault(name, ())

    def roots(self) -> list[str]:
        out = ["profile", "carrier"]
        for table in self.declared.values():
            out.extend(table)
        out.extend(self.saved)
        return out


def _one_line(raw: dict[str, Any]) -> str:
    def fmt(v: Any) -> str:
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k}: {fmt(x)}" for k, x in v.items()) + "}"
        if isinstance(v, list):
            return "[" + ", ".join(fmt(x) for x in v) + "]"
        return "null" if v is None else str(v)
    return ", ".join(f"{k}: {fmt(v)}" for k, v in raw.items())
