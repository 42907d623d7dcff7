"""``carriersim record export ID``: a recording of a live session (``carriersim serve --record DIR``) as a scenario
file that replays it.

Each world of the recording (the world at the start, and each world a ``POST /_sim/reset`` began) becomes one
scenario of the file. ``given`` is reconstructed from the world at its start: the start time, the seed and its
accounts (accounts created during the session join them: creating one changes nothing else). Every operation of the
operation table the session ran becomes the step that performs it (the step table's ``StepKind.op``, read
backwards), with its arguments; every clock move an ``advance`` to the instant it reached; after each step, an
``expect`` of the state and reasons of every card it touched, as the server saw them; a refused operation carries
``refused: CODE``. Volatile values become names: cards are ``card1``, ``card2`` … (ICCIDs never appear), accounts
``account1`` …, pools ``pool1`` …, a payment refunded later is ``${payment1.payment}``.

What cannot be a step is refused with a clear message (a generated fleet, a batch uploaded as .xlsx, cards of
several carriers in one world, a world that had cards before the recording started); what concerns only the
server and not the world (API keys, webhooks, faults, the clock's mode) is left out and listed in the scenario's
description. The file is built whole before anything is written: an error leaves nothing half-written.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from carriersim.simulator.operations import operation

from .steps import STEPS

STEP_OF_OP = {s.op: s.name for s in STEPS if s.op}  # an operation → the step that performs it
ARG_OF_PARAM = {"iccid": "card", "to_iccid": "to"}
SERVER_ONLY = ("create_api_key", "create_webhook", "delete_webhook", "create_fault", "clear_faults",
               "set_clock_mode")
DEFAULT_DIR = "recordings"


class ExportError(Exception):
    """The recording cannot be exported (unknown, still running, or holding what a scenario cannot say)."""


def read_recording(directory: str | os.PathLike[str], rec_id: str) -> list[dict[str, Any]]:
    path = Path(directory) / f"{rec_id}.jsonl"
    if not path.is_file():
        known = sorted(p.stem for p in Path(directory).glob("rec-*.jsonl")) if Path(directory).is_dir() else []
        raise ExportError(f"no recording {rec_id!r} in {directory}" +
                          (f" (recordings there: {', '.join(known)})" if known else " (it holds no recordings)"))
    lines = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    if not lines or lines[0].get("t") != "header":
        raise ExportError(f"{path} is not a carriersim recording")
    if lines[-1].get("t") != "stopped":
        raise ExportError(f"recording {rec_id} is still running: stop it first (POST /_sim/recordings/{rec_id}/stop, "
                          "or stop the server cleanly); a server that was killed leaves it unfinished")
    return lines


class _World:
    """One world of the recording, becoming one scenario."""

    def __init__(self, n: int, start: str, seed: int, accounts: list[dict[str, Any]]) -> None:
        self.n, self.start, self.seed = n, start, seed
        self.accounts: dict[str, dict[str, Any]] = {}
        self.cards: dict[str, str] = {}  # iccid -> name
        self.owner: dict[str, str] = {}  # card name -> account name
        self.pools: dict[str, str] = {}
        self.carriers: set[str] = set()
        self.steps: list[dict[str, Any]] = []
        self.left_out: dict[str, int] = {}
        self.rules: set[str] = set()
        self.payments: dict[int, dict[str, Any]] = {}  # payment number -> the top_up step that made it
        self.saved = 0
        self.last: dict[str, tuple[str, tuple[str, ...]]] = {}
        self.tick_step: dict[str, Any] | None = None
        for a in accounts:
            self.account(a["id"], a)

    def account(self, account_id: str, spec: dict[str, Any]) -> str:
        if account_id not in self.accounts:
            self.accounts[account_id] = {"id": f"account{len(self.accounts) + 1}", "name": spec.get("name") or
                                         account_id, "kind": spec.get("kind") or "enterprise",
                                         "verified": bool(spec.get("verified")),
                                         "_id_number": spec.get("id_number")}
        return str(self.accounts[account_id]["id"])

    def card(self, iccid: Any) -> str | None:
        return self.cards.get(iccid) if isinstance(iccid, str) else None

    # ---------------------------------------------------------------- one operation
    def operation(self, op: dict[str, Any], account: str | None, entry: dict[str, Any]) -> dict[str, Any] | None:
        name, args = op["op"], dict(op.get("args") or {})
        refused = op.get("refused")
        result = op.get("result")
        if name in SERVER_ONLY:
            self.left_out[name] = self.left_out.get(name, 0) + 1
            return None
        self.rules.update(operation(name).rules)
        if name == "generate_fleet":
            raise ExportError("the session generated a fleet (POST /_sim/fleet): a scenario cannot say which cards "
                              "that made; record a session that opens its cards")
        if name == "create_account":
            if refused is None:
                acct = result[0] if isinstance(result, list) else result
                self.account(str(acct), args)
            return None
        if name == "advance":
            step: dict[str, Any] = {"advance": entry["now"] if refused is None else (args.get("to") or args.get("by"))}
        elif name == "open_card":
            step = self.open_card(args, account, result if refused is None else None)
            if step is None:
                return None
        elif name == "create_pool":
            if refused is not None:
                return None
            alias = f"pool{len(self.pools) + 1}"
            self.pools[str(result)] = alias
            step = {"create_pool": {"id": alias, "account": self.accounts[account or ""]["id"],
                                    "carrier": args.get("carrier")}}
            self.carriers.add(str(args.get("carrier")))
        elif name == "add_to_pool":
            card, pool = self.card(args.get("iccid")), self.pools.get(args.get("pool_id"))
            if card is None or pool is None:
                return self.unknown(name)
            step = {"add_to_pool": {"pool": pool, "card": card}}
        elif name == "batch":
            step = self.batch(args, account)
        elif name == "report_usage":
            card = self.card(args.get("iccid"))
            if card is None:
                return self.unknown(name)
            step = {"use": {"card": card, **{k: args[k] for k in ("mb", "kb", "region", "imei") if k in args}}}
        elif name == "start_maintenance":
            until = (entry.get("answer") or {}).get("until") or args.get("until")
            step = {"start_maintenance": {"carrier": args["carrier"], "until": until,
                                          **({"stop_cards": args["stop_cards"]} if "stop_cards" in args else {})}}
        elif name == "end_maintenance":
            step = {"end_maintenance": {"carrier": args["carrier"]}}
        elif name in ("carrier_bar", "carrier_release"):
            card = self.card(args.get("iccid"))
            if card is None:
                return self.unknown(name)
            step = {name: {"card": card, **({"note": args["note"]} if args.get("note") else {})}}
        elif name in STEP_OF_OP or name == "swap":
            step = self.card_step(name, args, account, result if refused is None else None)
            if step is None:
                return self.unknown(name)
        else:
            self.left_out[name] = self.left_out.get(name, 0) + 1
            return None
        if refused is not None:
            step["refused"] = refused["code"]
        self.steps.append(step)
        return step

    def unknown(self, name: str) -> None:
        self.left_out[f"{name} on a card the session did not open"] = \
            self.left_out.get(f"{name} on a card the session did not open", 0) + 1
        return None

    def open_card(self, args: dict[str, Any], account: str | None, iccid: Any) -> dict[str, Any] | None:
        owner = self.accounts[account or ""]["id"]
        spec: dict[str, Any] = {"id": f"card{len(self.cards) + 1}", "account": owner, "plan": args["plan"]}
        for k in ("payment", "auto_suspend", "auto_renew", "testing"):
            if args.get(k) is not None:
                spec[k] = args[k]
        spec["activate"] = False  # activation is a step of its own, when the session asked for it
        self.carriers.add(str(args["carrier"]))
        if isinstance(iccid, str):
            self.cards[iccid] = spec["id"]
            self.owner[spec["id"]] = owner
        return {"open_card": spec}

    def card_step(self, name: str, args: dict[str, Any], account: str | None, result: Any) -> dict[str, Any] | None:
        card = self.card(args.pop("iccid", None))
        if card is None:
            return None
        out: dict[str, Any] = {"card": card}
        acct = self.accounts.get(account or "", {})
        if name == "swap":
            if not isinstance(result, str):
                return {"swap": {"card": card, "id": f"card{len(self.cards) + 1}"}}
            new = f"card{len(self.cards) + 1}"
            self.cards[result] = new
            self.owner[new] = self.owner.get(card, "")
            step: dict[str, Any] = {"swap": {"card": card, "id": new}}
        else:
            for param, value in args.items():
                if param in ("name", "id_number") and acct.get("_id_number") == args.get("id_number"):
                    continue  # the account's own identity: the step's default, whatever the replay generates
                if param == "document" and acct.get("_id_number") == value:
                    continue
                if param == "to_iccid":
                    to = self.card(value)
                    if to is None:
                        return None
                    out["to"] = to
                elif param == "payment" and isinstance(value, int) and value in self.payments:
                    source = self.payments[value]
                    if "save" not in source:
                        self.saved += 1
                        source["save"] = f"payment{self.saved}"
                    out["payment"] = f"${{{source['save']}.payment}}"
                else:
                    out[ARG_OF_PARAM.get(param, param)] = value
            step = {STEP_OF_OP[name]: out}
            if name == "top_up" and isinstance(result, int):
                self.payments[result] = step
            if name == "request_cancellation" and isinstance(result, dict) and result.get("review"):
                step["returns"] = {"review": result["review"]}
        if acct and acct.get("id") != self.owner.get(card):
            step["as"] = acct["id"]
        return step

    def batch(self, args: dict[str, Any], account: str | None) -> dict[str, Any]:
        data = args.get("data")
        if not isinstance(data, dict) or "text" not in data:
            raise ExportError("the session ran a batch from an .xlsx template: export knows CSV templates only")
        rows = list(csv.reader(io.StringIO(data["text"])))
        header, body = [h.strip().lower() for h in rows[0]], [r for r in rows[1:] if r]
        out: dict[str, Any] = {"operation": args["operation"], "account": self.accounts[account or ""]["id"]}
        cards, raw = [], []
        for r in body:
            (cards if self.card(r[0].strip()) else raw).append(self.card(r[0].strip()) or r[0].strip())
        if cards:
            out["cards"] = cards
        if raw:
            out["rows"] = raw
        if len(header) > 1 and body and len(body[0]) > 1:
            value: Any = body[0][1].strip()
            if header[1] == "enabled":
                value = value.lower() == "true"
            out[header[1]] = value
        if args.get("document") and args["document"] != self.accounts.get(account or "", {}).get("_id_number"):
            out["document"] = args["document"]
        return {"batch": out}

    # ---------------------------------------------------------------- what was observed
    def observe(self, cards: dict[str, Any], *, changed_only: bool = False) -> None:
        for iccid, seen in cards.items():
            alias = self.card(iccid)
            if alias is None:
                continue
            now = (seen["state"], tuple(seen["reasons"]))
            if changed_only and self.last.get(alias) == now:
                continue
            self.last[alias] = now
            self.steps.append({"expect": {"card": alias, "state": seen["state"], "reasons": list(seen["reasons"])}})

    def scenario(self, rec_id: str, total: int) -> dict[str, Any]:
        if len(self.carriers) > 1:
            raise ExportError(f"world {self.n} of recording {rec_id} has cards of {', '.join(sorted(self.carriers))}: "
                              "a scenario runs on one carrier at a time; record one carrier per world "
                              "(POST /_sim/reset between them)")
        description = f"Exported from recording {rec_id}" + (f", world {self.n} of {total}" if total > 1 else "") + "."
        if self.left_out:
            description += " Not replayed (server-side, not the world): " + ", ".join(
                f"{k} ×{v}" for k, v in sorted(self.left_out.items())) + "."
        accounts = [{k: v for k, v in a.items() if not k.startswith("_")} for a in self.accounts.values()]
        given: dict[str, Any] = {"start": self.start, "seed": self.seed}
        if accounts:
            given["accounts"] = accounts
        rules = sorted(self.rules & _known_rules()) or ["LIFE-4"]
        out: dict[str, Any] = {"name": f"Recording {rec_id}" + (f" world {self.n}" if total > 1 else ""),
                               "description": description, "rules": rules}
        if self.carriers:
            out["carriers"] = sorted(self.carriers)
        out["given"] = given
        out["steps"] = self.steps
        return out


def _known_rules() -> set[str]:
    from carriersim.simulator.catalogue import rule_ids

    return set(rule_ids())


def export(directory: str | os.PathLike[str], rec_id: str) -> str:
    """The scenario file (YAML text) replaying recording ``rec_id`` of ``directory``."""
    lines = read_recording(directory, rec_id)
    head = lines[0]["world"]
    worlds = [_World(1, head["now"], head["seed"], head.get("accounts", []))]
    preexisting = head.get("cards", 0)
    seed = head["seed"]
    for entry in lines[1:-1]:
        w = worlds[-1]
        if entry["t"] == "tick":  # an accelerated clock move; quiet ones in a row are one advance
            if w.steps and w.steps[-1] is w.tick_step:
                w.steps[-1]["advance"] = entry["now"]
            else:
                w.tick_step = {"advance": entry["now"]}
                w.steps.append(w.tick_step)
            w.rules.add("BILL-2")
            w.observe(entry["cards"])
            continue
        if entry["t"] != "request":
            continue
        for op in entry["ops"]:
            if op["op"] == "reset" and "refused" not in op:
                seed = op["args"].get("seed", seed)
                worlds.append(_World(len(worlds) + 1, entry["now"], seed, []))
                preexisting = 0 if len(worlds) > 1 else preexisting
                continue
            if preexisting and len(worlds) == 1 and op["op"] not in (*SERVER_ONLY, "create_account"):
                raise ExportError(f"recording {rec_id} started on a world that already had {preexisting} card(s): "
                                  "a scenario can only rebuild a world from its start; start recording on an empty "
                                  "world, or reset it first (POST /_sim/reset)")
            step = worlds[-1].operation(op, entry.get("account"), entry)
            if step is not None:
                worlds[-1].observe(entry["cards"])
    kept = [w for w in worlds if any("expect" not in s for s in w.steps)]
    if not kept:
        raise ExportError(f"recording {rec_id} holds no operation a scenario can replay")
    scenarios = [w.scenario(rec_id, len(kept)) for w in kept]
    for n, sc in enumerate(scenarios, 1):
        if len(kept) > 1:
            sc["name"] = f"Recording {rec_id} world {n}"
    body = yaml.safe_dump(scenarios if len(scenarios) > 1 else scenarios[0], allow_unicode=True, sort_keys=False,
                          width=120)
    return f"# carriersim record export {rec_id}: replay with carriersim run FILE\n{body}"


# ---------------------------------------------------------------------------------------------- the command

def add_record_command(sub: Any) -> None:
    p = sub.add_parser("record", help="turn a recorded session (serve --record DIR) into a scenario file",
                       description="Recordings of carriersim serve --record DIR.")
    rsub = p.add_subparsers(dest="record_command", required=True)
    exp = rsub.add_parser("export", help="write the scenario that replays recording ID (to standard output)")
    exp.add_argument("id", help="the recording's id, e.g. rec-0001 (GET /_sim/recordings lists them)")
    exp.add_argument("--dir", default=os.environ.get("CARRIERSIM_RECORD_DIR") or DEFAULT_DIR,
                     help="the directory given to serve --record (default: $CARRIERSIM_RECORD_DIR, else "
                          f"./{DEFAULT_DIR})")
    exp.add_argument("-o", "--output", metavar="FILE", help="write here (atomically) instead of standard output")
    exp.set_defaults(func=cmd_record_export)
    ls = rsub.add_parser("list", help="the recordings of a directory")
    ls.add_argument("--dir", default=os.environ.get("CARRIERSIM_RECORD_DIR") or DEFAULT_DIR)
    ls.set_defaults(func=cmd_record_list)


def cmd_record_export(args: argparse.Namespace) -> int:
    try:
        text = export(args.dir, args.id)
    except ExportError as exc:
        print(f"carriersim: error: {exc}", file=sys.stderr)
        return 1
    if not args.output:
        sys.stdout.write(text)
        return 0
    target = Path(args.output)
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent if str(target.parent) else ".", prefix=f".{target.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, target)
    except OSError as exc:
        print(f"carriersim: error: cannot write {target}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


def cmd_record_list(args: argparse.Namespace) -> int:
    folder = Path(args.dir)
    for path in sorted(folder.glob("rec-*.jsonl")) if folder.is_dir() else []:
        lines = path.read_text("utf-8").splitlines()
        last = json.loads(lines[-1]) if lines else {}
        status = "stopped" if last.get("t") == "stopped" else "running"
        print(f"{path.stem}\t{status}\t{max(len(lines) - 1 - (status == 'stopped'), 0)} entries")
    return 0

