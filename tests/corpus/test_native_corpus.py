"""The native API still answers what it answered when the corpus was recorded (see recorder.py for what the corpus
holds and what is normalised). Re-record with ``python tests/corpus/recorder.py record tests/corpus/native.jsonl.gz``
only when a change of the answers is intended."""

from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path

from .recorder import Server, read_corpus, replay

CORPUS = Path(__file__).with_name("native.jsonl.gz")


def test_native_corpus_replays_byte_for_byte() -> None:
    meta, exchanges = read_corpus(CORPUS)
    assert meta["exchanges"] == len(exchanges) and all(meta["sources"].values())
    with Server() as server:
        mismatches = replay(CORPUS, server.url)
    assert not mismatches, f"{len(mismatches)} of {len(exchanges)} exchanges differ:\n" + "\n".join(mismatches[:20])


def test_the_checker_sees_a_difference(tmp_path: Path) -> None:
    """On the README walk-through alone: a changed status or body byte is reported; a replay on a server that
    hands out other keys (a second reset starts a new key generation) is not."""
    meta, exchanges = read_corpus(CORPUS)
    walk = [e for e in exchanges if e["source"] == "readme"]
    tampered = copy.deepcopy(walk)
    tampered[2]["response"]["status"] += 1
    tampered[-1]["response"]["body"] = tampered[-1]["response"]["body"].replace('"', "'", 1)

    def write(name: str, items: list) -> Path:
        path = tmp_path / name
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(json.dumps({"meta": meta}) + "\n" + "".join(json.dumps(e) + "\n" for e in items))
        return path

    with Server() as server:
        clean, bad = write("clean.jsonl.gz", walk), write("bad.jsonl.gz", tampered)
        assert replay(clean, server.url) == []
        assert replay(clean, server.url) == []  # other keys now: they are mapped
        found = replay(bad, server.url)
    assert [m.split(":")[0] for m in found] == [f"#{walk[2]['i']} POST /v1/cards",
                                                f"#{walk[-1]['i']} GET {walk[-1]['request']['path']}"], found
