"""Seeded generator of realistic annotator files, valid or with a share of broken lines.

Documents are built from a small vocabulary with punctuation, quotations and some non-ASCII
(em dashes, accented letters, an occasional emoji) so that offsets exercise code points. Two
shapes (`SHAPES`): `long` documents of about 4,000 code points with about 21 annotated items
(questions, attributions with source/cue/content, some nested, stances), a line of about 7.9 KB;
and `short` ones of about 1,150 code points with about 6 items, a line of about 2.5 KB, the size
of a news item. The same validator costs more per byte on short lines (more lines, more
records to keep for the cross-line checks).

Example:
    python benchmarks/generate.py --docs 60000 --shape short --out benchmarks/data/ann.jsonl
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path
from typing import Any

import orjson

WORDS = [
    "the",
    "government",
    "said",
    "that",
    "policy",
    "would",
    "change",
    "after",
    "the",
    "war",
    "is",
    "over",
    "and",
    "citizens",
    "demand",
    "answers",
    "from",
    "ministers",
    "who",
    "refused",
    "comment",
    "because",
    "evidence",
    "shows",
    "clear",
    "failure",
    "report",
    "claims",
    "officials",
    "knew",
    "nothing",
    "about",
    "plans",
    "—",
    "café",
    "naïve",
    "rôle",
]
SHAPES = {"long": 4000, "short": 1150}
"""Document sizes in code points, by shape."""
KINDS = ("assertive", "hypophora", "echo", "open")
TYPES = ("direct", "indirect", "mixed")
POLARITIES = ("favor", "against")


def _sentence(rng: random.Random, end: str = ".") -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(6, 16))]
    if rng.random() < 0.03:
        words.insert(rng.randrange(len(words)), "😀")
    return " ".join(words).capitalize() + end


def make_document(rng: random.Random, doc_id: str, annotator: str, size: int = 4000) -> dict[str, Any]:
    """One valid record of about `size` code points (about 5 items per 1,000)."""
    parts: list[str] = []
    pos = 0
    questions, attributions, stances = [], [], []

    def add(piece: str) -> tuple[int, int]:
        nonlocal pos
        if parts:
            parts.append(" ")
            pos += 1
        start = pos
        parts.append(piece)
        pos += len(piece)
        return start, pos

    while pos < size:
        r = rng.random()
        if r < 0.07:
            q = _sentence(rng, "?")
            s, e = add(q)
            kind = rng.choice(KINDS)
            item: dict[str, Any] = {
                "id": f"q{len(questions) + 1}",
                "start": s,
                "end": e,
                "text": q,
                "kind": kind,
            }
            if kind == "hypophora":
                a = _sentence(rng)
                sa, ea = add(a)
                item["answer"] = {"start": sa, "end": ea, "text": a}
            questions.append(item)
        elif r < 0.16:
            src, cue, content = "The minister", "said", _sentence(rng)
            s, _ = add(src)
            c0 = s + len(src) + 1
            add_text = f'{cue} "{content}"'
            add(add_text)
            c1 = c0 + len(cue) + 2
            aid = f"t{len(attributions) + 1}"
            attributions.append(
                {
                    "id": aid,
                    "type": rng.choice(TYPES),
                    "source": {"start": s, "end": s + len(src), "text": src},
                    "cue": {"start": c0, "end": c0 + len(cue), "text": cue},
                    "content": {"start": c1, "end": c1 + len(content), "text": content},
                    "source_name": "Minister",
                    "nested_in": None,
                }
            )
            if rng.random() < 0.5:  # the source's own evaluation, inside the quotation
                word = content.split(" ")[1].rstrip(".")
                ws = c1 + content.index(" ") + 1
                stances.append(
                    {
                        "id": f"s{len(stances) + 1}",
                        "start": ws,
                        "end": ws + len(word),
                        "text": word,
                        "target": "policy",
                        "polarity": rng.choice(POLARITIES),
                        "holder": aid,
                    }
                )
            if rng.random() < 0.2:
                inner = content.split()[0]
                attributions.append(
                    {
                        "id": f"t{len(attributions) + 1}",
                        "type": "indirect",
                        "source": None,
                        "cue": None,
                        "content": {"start": c1, "end": c1 + len(inner), "text": inner},
                        "nested_in": aid,
                    }
                )
        else:
            sent = _sentence(rng)
            s, e = add(sent)
            if r < 0.33:
                tokens = sent.split(" ")
                k = rng.randrange(len(tokens))
                word = tokens[k].rstrip(".")
                offset = sum(len(tok) + 1 for tok in tokens[:k])
                holder = "author"
                stances.append(
                    {
                        "id": f"s{len(stances) + 1}",
                        "start": s + offset,
                        "end": s + offset + len(word),
                        "text": word,
                        "target": rng.choice(["the government", "ministers", "policy"]),
                        "polarity": rng.choice(POLARITIES),
                        "holder": holder,
                    }
                )
    text = "".join(parts)
    for stance in stances:
        stance["target"] = _occurring(stance["target"], stance["text"], text)
    return {
        "doc_id": doc_id,
        "annotator": annotator,
        "text": text,
        "meta": {
            "title": f"Synthetic {doc_id}",
            "author": "generator",
            "source": "bench",
            "published": "2024-01-01",
            "license": "CC0-1.0",
            "language": "en",
            "genre": "opinion",
        },
        "rhetorical_questions": questions,
        "attributions": attributions,
        "stances": stances,
    }


def _occurring(target: str, covered: str, text: str) -> str:
    """A target that occurs in the text, as guideline S7 wants (a short document may lack the
    one drawn): the one drawn, else the first of the usual ones that occurs, else the stance's
    own words. Drawn without the random generator, so the long shape is what it always was."""
    folded = text.casefold()
    for candidate in (target, "the government", "ministers", "policy"):
        word = candidate.removeprefix("the ")
        if word in text or word.casefold() in folded:
            return candidate
    return covered


def break_line(rng: random.Random, rec: dict[str, Any]) -> bytes:
    """A broken version of `rec`: bad JSON, a typo'd field, a shifted offset or a bad label."""
    how = rng.randrange(4)
    if how == 0:
        return orjson.dumps(rec)[:-7]
    rec = orjson.loads(orjson.dumps(rec))
    if how == 1:
        rec["attributons"] = rec.pop("attributions")
    elif how == 2 and rec["stances"]:
        rec["stances"][0]["start"] += 1
    else:
        rec["meta"]["published"] = "yesterday"
    return orjson.dumps(rec)


def generate(
    out: Path,
    docs: int,
    annotators: int = 1,
    broken: float = 0.0,
    seed: int = 0,
    size: int = SHAPES["long"],
) -> Path:
    """Write one JSONL file with `docs` documents × `annotators` lines of about `size` code
    points each (`SHAPES`); return its path."""
    rng = random.Random(seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as f:
        for d in range(docs):
            base = make_document(rng, f"doc{d:06d}", "ann-0", size)
            for a in range(annotators):
                rec = dict(base, annotator=f"ann-{a}")
                if a:  # later annotators drop or relabel some items, so merges have work to do
                    rec["stances"] = [
                        dict(s, polarity=rng.choice(POLARITIES)) if rng.random() < 0.2 else s
                        for s in base["stances"]
                        if rng.random() > 0.1
                    ]
                line = break_line(rng, rec) if broken and rng.random() < broken else orjson.dumps(rec)
                f.write(line + b"\n")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--annotators", type=int, default=1)
    parser.add_argument("--broken", type=float, default=0.0, help="share of broken lines")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shape", choices=sorted(SHAPES), default="long", help="document size")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/data/ann.jsonl"))
    args = parser.parse_args()
    path = generate(args.out, args.docs, args.annotators, args.broken, args.seed, SHAPES[args.shape])
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
