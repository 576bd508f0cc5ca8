"""Shared helpers for the tests of `corpus view`: a document whose spans overlap and nest in every
way the format allows, passes that disagree, hostile values, and reading the written HTML."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from corpus_tools.layers import LAYERS

from factory import span, write_jsonl

# Non-ASCII and a CR LF before the spans: offsets are code points, and the page keeps the CR.
TEXT = (
    "Café 🙂 notes.\r\n"
    'The minister said that the envoy had warned: "they call it a fair deal, a shameful one." '
    "Is this fair? No, it is a farce. What a disgrace!"
)


def pass_a(doc_id: str = "doc1", text: str = TEXT) -> dict[str, Any]:
    """ann-a: a hypophora with its answer; an attribution nested in another's content; stances
    inside both contents, one nested in another and two crossing."""
    t = text
    return {
        "doc_id": doc_id,
        "annotator": "ann-a",
        "text": t,
        "meta": {
            "title": "Overlaps",
            "author": "A. Writer",
            "url": "https://example.org/a",
            "language": "en",
        },
        "rhetorical_questions": [
            {
                "id": "q1",
                **span(t, "Is this fair?"),
                "kind": "hypophora",
                "answer": span(t, "No, it is a farce."),
            }
        ],
        "attributions": [
            {
                "id": "t1",
                "type": "indirect",
                "source": span(t, "The minister"),
                "cue": span(t, "said"),
                "content": span(t, 'the envoy had warned: "they call it a fair deal, a shameful one."'),
            },
            {
                "id": "t2",
                "type": "direct",
                "source": span(t, "the envoy"),
                "cue": span(t, "had warned"),
                "content": span(t, '"they call it a fair deal, a shameful one."'),
                "nested_in": "t1",
            },
        ],
        "stances": [
            {"id": "s1", **span(t, "shameful"), "target": "the deal", "polarity": "against", "holder": "t2"},
            {
                "id": "s2",
                **span(t, "a fair deal, a shameful"),
                "target": "the deal",
                "polarity": "favor",
                "holder": "t2",
            },
            {
                "id": "s3",
                **span(t, "call it a fair"),
                "target": "the deal",
                "polarity": "favor",
                "holder": "t2",
            },
            {"id": "s4", **span(t, "farce"), "target": "the deal", "polarity": "against", "holder": "author"},
            {
                "id": "s5",
                **span(t, "disgrace"),
                "target": "the deal",
                "polarity": "against",
                "holder": "author",
            },
        ],
    }


def pass_b(doc_id: str = "doc1", text: str = TEXT) -> dict[str, Any]:
    """ann-b: the question `assertive` without an answer (differs), no nested attribution (only
    in ann-a), a stance a word longer (differs in its span), the last stance as ann-a's."""
    t = text
    rec = pass_a(doc_id, text)
    rec["annotator"] = "ann-b"
    rec["rhetorical_questions"] = [{"id": "q1", **span(t, "Is this fair?"), "kind": "assertive"}]
    rec["attributions"] = rec["attributions"][:1]
    rec["stances"] = [
        {"id": "s1", **span(t, "a shameful"), "target": "the deal", "polarity": "against", "holder": "t1"},
        {"id": "s2", **span(t, "disgrace"), "target": "the deal", "polarity": "against", "holder": "author"},
    ]
    return rec


def gold(doc_id: str = "doc1") -> dict[str, Any]:
    """A gold record: items list the annotators who proposed them."""
    rec = pass_a(doc_id)
    rec["annotator"] = "gold"
    rec["attributions"] = rec["attributions"][:1]
    rec["stances"] = [rec["stances"][4] | {"id": "s1"}]
    rec["rhetorical_questions"][0]["annotators"] = ["ann-a"]
    rec["attributions"][0]["annotators"] = ["ann-a", "ann-b"]
    rec["stances"][0]["annotators"] = ["ann-a", "ann-b"]
    rec["stances"][0]["note"] = "ann-a: plain | ann-b: plain"
    return rec


def corpus(root: Path) -> Path:
    """`root/annotations/<annotator>/doc1.jsonl` for both passes; returns the folder."""
    folder = root / "annotations"
    write_jsonl(folder / "ann-a" / "doc1.jsonl", [pass_a()])
    write_jsonl(folder / "ann-b" / "doc1.jsonl", [pass_b()])
    return folder


# -- texts that HTML and CSS would change, right-to-left text, bidi controls ---------------------

BREAKS_TEXT = "A lone CR\rthen U+2028\u2028then U+2029\u2029a NUL\x00here, and CR LF\r\nat last: a disgrace."


def breaks_pass() -> dict[str, Any]:
    """A text with a lone CR, U+2028, U+2029, a NUL and a CR LF, with spans across each."""
    t = BREAKS_TEXT
    stances = [
        ("s1", "CR\rthen"),
        ("s2", "2028\u2028then"),
        ("s3", "2029\u2029a"),
        ("s4", "NUL\x00here"),
        ("s5", "LF\r\nat"),
        ("s6", "disgrace"),
    ]
    return {
        "doc_id": "breaks",
        "annotator": "ann-a",
        "text": t,
        "meta": {"title": "Breaks", "language": "en"},
        "rhetorical_questions": [],
        "attributions": [],
        "stances": [
            {"id": i, **span(t, needle), "target": "it", "polarity": "against", "holder": "author"}
            for i, needle in stances
        ],
    }


RTL_TEXT = 'השר אמר: "ההסכם הוא בושה". האם זה הוגן? לא.'


def rtl_pass(annotator: str = "ann-a", language: str = "he") -> dict[str, Any]:
    """A Hebrew text: an attribution, a stance held by it, a hypophora and its answer."""
    t = RTL_TEXT
    return {
        "doc_id": "rtl",
        "annotator": annotator,
        "text": t,
        "meta": {"title": "הסכם", "author": "כותב", "language": language},
        "rhetorical_questions": [
            {"id": "q1", **span(t, "האם זה הוגן?"), "kind": "hypophora", "answer": span(t, "לא.")}
        ],
        "attributions": [
            {
                "id": "t1",
                "type": "direct",
                "source": span(t, "השר"),
                "cue": span(t, "אמר"),
                "content": span(t, '"ההסכם הוא בושה"'),
            }
        ],
        "stances": [
            {"id": "s1", **span(t, "בושה"), "target": "ההסכם", "polarity": "against", "holder": "t1"}
        ],
    }


RLO = "\u202e"
"""RIGHT-TO-LEFT OVERRIDE, left open: without isolation it reverses the text that follows it."""


def spoofing_pass(annotator: str) -> dict[str, Any]:
    """An unclosed RLO in the title and in a stance's target; ann-b lacks the stance, so it is
    a disagreement (with a conflict to decide)."""
    rec = pass_a("spoof")
    rec["annotator"] = annotator
    rec["meta"]["title"] = f"Spoofed title{RLO}"
    rec["stances"] = [rec["stances"][4] | {"target": f"the deal{RLO}"}]
    if annotator == "ann-b":
        rec["stances"] = []
    return rec


OVERRIDDEN_TEXT = f'Note{RLO}: "The plan is dead," the minister said. A farce.'


def overridden_pass() -> dict[str, Any]:
    """A text with an unclosed RLO before an attribution whose source and cue follow its
    content (so they get link markers) and a stance: markers drawn after the override."""
    t = OVERRIDDEN_TEXT
    return {
        "doc_id": "override",
        "annotator": "ann-a",
        "text": t,
        "meta": {"title": "Override", "language": "en"},
        "rhetorical_questions": [],
        "attributions": [
            {
                "id": "t1",
                "type": "direct",
                "source": span(t, "the minister"),
                "cue": span(t, "said"),
                "content": span(t, '"The plan is dead,"'),
            }
        ],
        "stances": [
            {"id": "s1", **span(t, "farce"), "target": "the plan", "polarity": "against", "holder": "author"}
        ],
    }


def many_tags_pass(n: int = 40) -> dict[str, Any]:
    """A long text with `n` stances: more tags than a narrow screen shows at once."""
    t = " ".join(f"Sentence {i} says the plan is bad." for i in range(1, n + 1))
    return {
        "doc_id": "long",
        "annotator": "ann-a",
        "text": t,
        "meta": {"title": "Many tags", "language": "en"},
        "rhetorical_questions": [],
        "attributions": [],
        "stances": [
            {
                "id": f"s{i}",
                **span(t, "bad", i - 1),
                "target": "the plan",
                "polarity": "against",
                "holder": "author",
            }
            for i in range(1, n + 1)
        ],
    }


def adjudication_log(conflicts: Path, path: Path, **extra: Any) -> Path:
    """Every conflict of `conflicts` decided, written as the adjudication log holds decisions: only
    `id`, `doc_id`, `layer`, `decision`, `adjudicator`, `reason` (no versions, kind or status)."""
    lines = []
    for line in conflicts.read_text(encoding="utf-8").splitlines():
        c = json.loads(line)
        first = next(v["annotator"] for v in c["versions"] if v["item"] is not None)
        lines.append(
            {
                "id": c["id"],
                "doc_id": c["doc_id"],
                "layer": c["layer"],
                "decision": {"accept": first},
                "adjudicator": "adj-1",
                "reason": f"{c['kind']}: the version of {first}",
                **extra,
            }
        )
    path.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in lines), encoding="utf-8")
    return path


# -- hostile values -------------------------------------------------------------------------------

PWNED = "document.title='pwned';window.pwned=1"
HOSTILE = [
    f"<script>{PWNED}</script>",
    f'<img src=x onerror="{PWNED}">',
    f"javascript:{PWNED}",
    f"</textarea><script>{PWNED}</script>",
    f"</style><script>{PWNED}</script>",
    f'"><svg onload="{PWNED}">',
    f"</title><script>{PWNED}</script>",
    f"]]><!-- <script>{PWNED}</script> -->",
]
HOSTILE_TEXT = (
    f"He wrote {HOSTILE[0]} and {HOSTILE[1]} then {HOSTILE[3]}. Is {HOSTILE[4]} safe? "
    f"Critics called {HOSTILE[5]} a disgrace, {HOSTILE[7]} too."
)
HOSTILE_TITLE = f"{HOSTILE[6]} & <b>bold</b>"


def hostile_pass(annotator: str) -> dict[str, Any]:
    """Hostile values in the text, the title and every free-text field, and spans over them."""
    t = HOSTILE_TEXT
    return {
        "doc_id": "hostile",
        "annotator": annotator,
        "text": t,
        "meta": {
            "title": HOSTILE_TITLE,
            "author": HOSTILE[1],
            "source": HOSTILE[3],
            "url": HOSTILE[2],
            "license": HOSTILE[5],
            "license_url": "JavaScript:alert(1)",
            "rights": HOSTILE[4],
            "genre": HOSTILE[7],
            "language": "en",
        },
        "rhetorical_questions": [
            {"id": "q1", **span(t, f"Is {HOSTILE[4]} safe?"), "kind": "open", "note": HOSTILE[3]}
        ],
        "attributions": [
            {
                "id": "t1",
                "type": "direct",
                "source": span(t, "He"),
                "cue": span(t, "wrote"),
                "content": span(t, f"{HOSTILE[0]} and {HOSTILE[1]}"),
                "source_name": HOSTILE[2],
                "note": HOSTILE[6],
            }
        ],
        "stances": [
            {
                "id": "s1",
                **span(t, HOSTILE[0]),
                "target": HOSTILE[0],
                "polarity": "against",
                "holder": "t1",
                "note": HOSTILE[4],
            },
            {
                "id": "s2",
                **span(t, "disgrace"),
                "target": HOSTILE[5] if annotator == "ann-a" else HOSTILE[1],
                "polarity": "against",
                "holder": "author",
                "note": HOSTILE[7],
            },
        ],
    }


def hostile_decisions(path: Path, conflicts: Path) -> Path:
    """The conflicts `corpus merge` wrote, every one decided, with hostile reasons and ids."""
    lines = []
    for n, line in enumerate(conflicts.read_text(encoding="utf-8").splitlines()):
        obj = json.loads(line)
        obj["decision"] = {"accept": next(v["annotator"] for v in obj["versions"] if v["item"] is not None)}
        obj["adjudicator"] = HOSTILE[n % len(HOSTILE)]
        obj["reason"] = HOSTILE[(n + 1) % len(HOSTILE)]
        obj["why"] = HOSTILE[(n + 2) % len(HOSTILE)]
        lines.append(obj)
    lines.append({"id": HOSTILE[0], "decision": {"reject": True}, "reason": HOSTILE[1], "doc_id": "hostile"})
    lines.append(
        {
            "kind": "correction",
            "doc_id": "hostile",
            "layer": "stances",
            "match": {"start": 0, "end": 2},
            "decision": {
                "replace": {
                    "start": 0,
                    "end": 2,
                    "text": "He",
                    "target": HOSTILE[6],
                    "polarity": "favor",
                    "holder": "author",
                }
            },
            "adjudicator": HOSTILE[2],
            "reason": HOSTILE[3],
        }
    )
    path.write_text("".join(json.dumps(o) + "\n" for o in lines), encoding="utf-8")
    return path


# -- reading the written pages ------------------------------------------------------------------


class Page(HTMLParser):
    """A page parsed with the standard library: its elements, attributes and text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self.text: list[str] = []
        self._raw: list[str] | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        if tag in ("script", "style"):
            self._raw = self.scripts if tag == "script" else self.styles
            self._raw.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._raw = None

    def handle_data(self, data: str) -> None:
        if self._raw is not None:
            self._raw[-1] += data
        else:
            self.text.append(data)

    def attrs(self, tag: str | None = None) -> list[dict[str, str | None]]:
        return [a for t, a in self.elements if tag is None or t == tag]

    def csp(self) -> str:
        metas = [
            a for a in self.attrs("meta") if (a.get("http-equiv") or "").lower() == "content-security-policy"
        ]
        assert len(metas) == 1
        return str(metas[0]["content"])


def sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()


def pages(site: Path) -> list[Path]:
    """Every page of a site."""
    return sorted(site.rglob("*.html"))


def spans_of(record: dict[str, Any]) -> list[tuple[str, str, str, int, int, str]]:
    """Every span of a record: `(layer, item id, part, start, end, text)`."""
    out = []
    for name, layer in LAYERS.items():
        for item in record.get(name, []):
            for part in layer.parts:
                s = item if part.field is None else item.get(part.field)
                if s is not None:
                    out.append((name, item["id"], part.name, s["start"], s["end"], s["text"]))
    return out


def strip_csp(html: str) -> str:
    """The page without its Content-Security-Policy (to show escaping holds on its own)."""
    return re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
