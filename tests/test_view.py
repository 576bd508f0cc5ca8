"""`corpus_tools.view`: the drawing model, the written pages (read as HTML, without a browser),
escaping, the comparison and its decisions, every kind of input, and bad inputs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpus_tools.errors import CorpusToolsError, InvalidInputError
from corpus_tools.layers import Record
from corpus_tools.merge import merge
from corpus_tools.publish import publish
from corpus_tools.split import split
from corpus_tools.view import view
from corpus_tools.view.marks import item_views, tokens

from factory import record, write_jsonl
from view_helpers import (
    BREAKS_TEXT,
    HOSTILE,
    HOSTILE_TEXT,
    HOSTILE_TITLE,
    TEXT,
    Page,
    adjudication_log,
    breaks_pass,
    corpus,
    gold,
    hostile_decisions,
    hostile_pass,
    pages,
    pass_a,
    pass_b,
    rtl_pass,
    sha256,
    spans_of,
)

# -- the drawing model --------------------------------------------------------------------------


def test_segments_give_back_the_text_and_every_span():
    rec = Record.model_validate(pass_a())
    views = item_views(rec, "p0")
    toks = tokens(rec.text, views)
    assert "".join(t.text for t in toks if t.kind in ("text", "seg")) == TEXT
    keys = {p.key: p for v in views for p in v.parts}
    joined: dict[str, str] = {}
    for t in toks:
        if t.kind == "seg":
            for m in t.marks:
                joined[m.part.key] = joined.get(m.part.key, "") + t.text
    assert joined == {k: p.text for k, p in keys.items()}
    # Every span of the record is drawn, once.
    assert sorted((p.start, p.end) for p in keys.values()) == sorted(
        (s, e) for *_, s, e, _t in spans_of(pass_a())
    )


def test_nesting_and_markers_follow_the_registry():
    rec = Record.model_validate(pass_a())
    views = {(v.layer.name, v.id): v for v in item_views(rec, "p0")}
    t1, t2 = views[("attributions", "t1")], views[("attributions", "t2")]
    assert (t1.depth, t2.depth) == (1, 2)
    # The attributions' content (the part others nest in) is bracketed; nothing else is.
    assert [p.name for p in t1.parts if p.bracket] == ["content"]
    assert not any(p.bracket for v in views.values() if v.layer.name != "attributions" for p in v.parts)
    q1 = views[("rhetorical_questions", "q1")]
    assert [p.name for p in q1.parts] == ["question", "answer"]
    assert q1.elsewhere(q1.parts[1]) == q1.parts[1].dom  # the answer is linked
    s1 = views[("stances", "s1")]
    assert [(r.field, r.target) for r in s1.references] == [("holder", t2)]
    toks = tokens(rec.text, views.values())
    kinds = [(t.kind, t.view.id if t.view else None) for t in toks if t.kind not in ("text", "seg")]
    # t1's tag at its source, t2's bracket inside t1's, closed before it.
    opened = [i for i, (k, v) in enumerate(kinds) if k == "open"]
    closed = [i for i, (k, v) in enumerate(kinds) if k == "close"]
    assert [kinds[i][1] for i in opened] == ["t1", "t2"]
    assert [kinds[i][1] for i in closed] == ["t2", "t1"]
    assert ("link", "q1") in kinds
    # Within a segment, wrappers nest outer layers first and t1's content outside t2's.
    seg = next(t for t in toks if t.kind == "seg" and t.text == "shameful")
    assert [(m.view.id, m.part.name) for m in seg.marks] == [
        ("t1", "content"),
        ("t2", "content"),
        ("s2", "stance"),  # the longer stance outside the one nested in it
        ("s1", "stance"),
    ]


# -- the written site ---------------------------------------------------------------------------


@pytest.fixture
def site(tmp_path: Path) -> Path:
    annotations = corpus(tmp_path)
    write_jsonl(tmp_path / "gold.jsonl", [gold()])
    result = view([annotations, tmp_path / "gold.jsonl"], output=tmp_path / "site")
    assert (result.documents, result.pages, result.comparisons) == (1, 3, 1)
    return tmp_path / "site"


def test_the_site_has_an_index_a_page_per_record_and_a_comparison(site: Path):
    assert [p.relative_to(site).as_posix() for p in pages(site)] == [
        "compare/doc1.html",
        "doc/doc1/ann-a.html",
        "doc/doc1/ann-b.html",
        "doc/doc1/gold.html",
        "index.html",
    ]
    index = Page((site / "index.html").read_text(encoding="utf-8"))
    hrefs = [a["href"] for a in index.attrs("a")]
    assert {"doc/doc1/ann-a.html", "doc/doc1/ann-b.html", "doc/doc1/gold.html", "compare/doc1.html"} <= set(
        hrefs
    )
    text = " ".join("".join(index.text).split())
    assert "Overlaps" in text and "RQ 1.00" in text and "ATTR 0.67" in text
    # Counts per layer for each record: gold 1 question, ann-a 2 attributions, ann-b 2 stances.
    assert re.search(r"ann-a\s*:\s*RQ 1 · ATTR 2 · STANCE 5", text)
    assert re.search(r"ann-b\s*:\s*RQ 1 · ATTR 1 · STANCE 2", text)


def test_a_record_page_draws_every_span_and_lists_every_item(site: Path):
    html = (site / "doc/doc1/ann-a.html").read_text(encoding="utf-8")
    page = Page(html)
    # The text element holds the document's text exactly: markers add no text, CR is kept.
    body = html[html.index('<div class="text"') :]
    body = body[body.index(">") + 1 : body.index("</div>")]
    assert "&#13;" in body
    assert (
        re.sub(r"<[^>]+>", "", body)
        .replace("&#13;", "\r")
        .replace("&quot;", '"')
        .replace("&#34;", '"')
        .replace("&amp;", "&")
        == TEXT
    )
    parts = [a for a in page.attrs("q") if "data-span" in a]
    assert sorted((int(a["data-start"]), int(a["data-end"])) for a in parts) == sorted(
        (s, e) for *_, s, e, _t in spans_of(pass_a())
    )
    tags = [a for a in page.attrs("a") if a.get("class") == "tag"]
    assert [t["data-text"] for t in tags] == [
        "t1 indirect",
        "t2 direct",
        "s3 favor",
        "s2 favor",
        "s1 against",
        "q1 hypophora",
        "s4 against",
        "s5 against",
    ]
    assert all(t["href"] == "#" + t["data-item"] and t["aria-label"] for t in tags)
    # Toggles for every layer and label of the registry, and a details region.
    toggles = {(a["data-toggle-layer"], a.get("data-toggle-label")) for a in page.attrs("input")}
    assert ("stances", None) in toggles and ("stances", "against") in toggles
    assert ("rhetorical_questions", "hypophora") in toggles and ("attributions", "mixed") in toggles
    # Not live until the keyboard focus shows an item (the script says so; hovering is silent).
    assert any(a.get("id") == "details" and a.get("aria-live") == "off" for a in page.attrs("div"))
    text = "".join(page.text)
    assert "holder" in text and "the deal" in text


def test_the_gold_page_lists_who_proposed_each_item(site: Path):
    page = Page((site / "doc/doc1/gold.html").read_text(encoding="utf-8"))
    text = " ".join("".join(page.text).split())
    assert "Gold record" in text and "ann-a, ann-b" in text and "ann-a: plain | ann-b: plain" in text


def test_every_page_runs_only_its_own_script_and_style(site: Path):
    for path in pages(site):
        page = Page(path.read_text(encoding="utf-8"))
        assert len(page.scripts) == 1 and len(page.styles) == 1, path
        csp = page.csp()
        assert "default-src 'none'" in csp
        assert f"script-src '{sha256(page.scripts[0])}'" in csp
        assert f"style-src '{sha256(page.styles[0])}'" in csp
        assert not any(a.get("src") for _tag, a in page.elements)
        assert not any(name.startswith("on") for _tag, a in page.elements for name in a)
        assert not any(a.get("style") is not None for _tag, a in page.elements)
        assert "http" not in page.scripts[0] and "fetch(" not in page.scripts[0]


def test_the_comparison_shows_agreement_and_disagreements(site: Path):
    page = Page((site / "compare/doc1.html").read_text(encoding="utf-8"))
    entries = {a["id"]: a for a in page.attrs("li") if a.get("class") == "dis"}
    statuses = sorted((a["data-layer"], a["data-status"]) for a in entries.values())
    assert statuses == [
        ("attributions", "only"),  # t2, only ann-a
        ("rhetorical_questions", "differ"),  # kind and answer
        ("stances", "differ"),  # "shameful" / "a shameful": span and holder
        ("stances", "only"),
        ("stances", "only"),
        ("stances", "only"),
    ]
    text = " ".join("".join(page.text).split())
    assert "the passes differ in kind, answer" in text
    assert "the passes differ in span, holder" in text
    # Both passes side by side, each item linked to its disagreement.
    texts = [a for a in page.attrs("div") if a.get("class") == "text"]
    assert [a["id"] for a in texts] == ["p0-text", "p1-text"]
    tags = [a for a in page.attrs("a") if a.get("class") == "tag"]
    assert {t["data-status"] for t in tags} == {"agree", "differ", "only"}
    assert any(t["data-text"].startswith("≠ q1") for t in tags)
    assert any(t["data-text"].startswith("∅ t2") for t in tags)


def test_the_comparison_shows_each_decision_and_reason(tmp_path: Path):
    annotations = corpus(tmp_path)
    conflicts = tmp_path / "conflicts.jsonl"
    merge([annotations], output=tmp_path / "gold.jsonl", conflicts=conflicts)
    lines = [json.loads(line) for line in conflicts.read_text(encoding="utf-8").splitlines()]
    question = next(c for c in lines if c["layer"] == "rhetorical_questions")
    question.update(decision={"accept": "ann-a"}, adjudicator="adj-1", reason="Q4: the author answers it")
    nested = next(c for c in lines if c["layer"] == "attributions")
    nested.update(decision={"reject": True}, adjudicator="adj-1", reason="A15: not reported as actual")
    stance = next(c for c in lines if c["layer"] == "stances")
    replacement = {**pass_a()["stances"][0], "target": "the agreement", "holder": "author"}
    stance.update(decision={"replace": replacement}, adjudicator="adj-1", reason="S7: the whole phrase")
    lines.append(
        {
            "id": "c-gone",
            "doc_id": "doc1",
            "layer": "stances",
            "kind": "item",
            "versions": [],
            "decision": {"reject": True},
            "reason": "made on older annotations",
        }
    )
    lines.append(
        {
            "kind": "correction",
            "doc_id": "doc1",
            "layer": "stances",
            "match": {"start": pass_a()["stances"][4]["start"], "end": pass_a()["stances"][4]["end"]},
            "decision": {"remove": True},
            "adjudicator": "adj-2",
            "reason": "S2: an event word",
        }
    )
    decisions = tmp_path / "decisions.jsonl"
    decisions.write_text("".join(json.dumps(o) + "\n" for o in lines), encoding="utf-8")
    before = decisions.read_bytes()

    result = view([annotations], output=tmp_path / "site", decisions=decisions)

    # c-gone matches no conflict: stale, shown apart on its document's page.
    assert (result.decisions, result.corrections, result.stale, result.refused, result.unplaced) == (
        4,
        1,
        1,
        0,
        0,
    )
    assert decisions.read_bytes() == before  # inputs are never modified
    page = Page((tmp_path / "site/compare/doc1.html").read_text(encoding="utf-8"))
    text = " ".join("".join(page.text).split())
    assert "accept the version of ann-a" in text and "Q4: the author answers it" in text
    assert "reject: nothing goes into gold" in text and "A15: not reported as actual" in text
    assert "replace with the adjudicator's item" in text and "the agreement" in text
    assert "Decisions that match no conflict (1)" in text and "made on older annotations" in text
    assert "Corrections to gold (1)" in text and "remove the gold item" in text and "“disgrace”" in text
    assert "adj-2" in text and "S2: an event word" in text
    # A conflict without a decision says so.
    assert "no decision in the decisions file" in text
    # Every conflict of the merge is on the page, with the merge's status: the three decided,
    # the others open; then the stale decision and the applied correction.
    shown = [(a["data-action"], a["data-status"]) for a in page.attrs("div") if a.get("class") == "decision"]
    open_conflicts = len(lines) - 2 - 3  # the lines of the conflicts file less the decided ones
    assert sorted(shown) == sorted(
        [("accept", "decided"), ("reject", "decided"), ("replace", "decided")]
        + [("none", "open")] * open_conflicts
        + [("reject", "stale"), ("remove", "applied")]
    )


# -- escaping -----------------------------------------------------------------------------------


def hostile_site(tmp_path: Path) -> Path:
    annotations = tmp_path / "annotations"
    write_jsonl(annotations / "a.jsonl", [hostile_pass("ann-a")])
    write_jsonl(annotations / "b.jsonl", [hostile_pass("ann-b")])
    conflicts = tmp_path / "conflicts.jsonl"
    merge([annotations], output=tmp_path / "gold.jsonl", conflicts=conflicts)
    decisions = hostile_decisions(tmp_path / "decisions.jsonl", conflicts)
    view(
        [annotations, tmp_path / "gold.jsonl"],
        output=tmp_path / "site",
        decisions=decisions,
        title=HOSTILE_TITLE,
    )
    return tmp_path / "site"


def test_hostile_values_are_text_on_every_page(tmp_path: Path):
    site = hostile_site(tmp_path)
    seen = ""
    for path in pages(site):
        html = path.read_text(encoding="utf-8")
        page = Page(html)
        assert len(page.scripts) == 1 and len(page.styles) == 1, path
        assert sha256(page.scripts[0]) in page.csp()
        tags = {tag for tag, _a in page.elements}
        assert not tags & {"img", "svg", "textarea", "iframe", "object", "embed", "base", "form"}, path
        for _tag, attrs in page.elements:
            assert not any(name.startswith("on") for name in attrs), (path, attrs)
            for name in ("href", "src", "action"):
                value = (attrs.get(name) or "").strip().lower()
                assert not value.startswith(("javascript:", "data:", "vbscript:")), (path, attrs)
        assert html.lower().count("<script") == 1 and html.lower().count("<style") == 1, path
        seen += "".join(page.text)
    # Every hostile value reached the pages, as text.
    for value in HOSTILE:
        assert value in seen or value.replace('"', "'") in seen, value
    assert HOSTILE_TEXT in seen and HOSTILE_TITLE in seen
    # The javascript: URL is shown, not linked.
    record_page = Page((site / "doc/hostile/ann-a.html").read_text(encoding="utf-8"))
    assert HOSTILE[2] in "".join(record_page.text)


def test_only_http_urls_become_links(tmp_path: Path):
    rec = record()
    rec["meta"].update(url="https://example.org/a?b=1&c=<2>", license_url="data:text/html,<script>x</script>")
    write_jsonl(tmp_path / "a.jsonl", [rec])
    view([tmp_path / "a.jsonl"], output=tmp_path / "site")
    page = Page((tmp_path / "site/doc/doc1/ann-a.html").read_text(encoding="utf-8"))
    hrefs = [a["href"] for a in page.attrs("a") if not str(a["href"]).startswith(("#", "../"))]
    assert hrefs == ["https://example.org/a?b=1&c=<2>"]


# -- inputs ---------------------------------------------------------------------------------------


def test_a_published_dataset_shows_gold_and_the_passes(tmp_path: Path):
    annotations = corpus(tmp_path)
    merge([annotations], output=tmp_path / "gold.jsonl", conflicts=tmp_path / "conflicts.jsonl")
    split([tmp_path / "gold.jsonl"], output=tmp_path / "splits", ratios=(1.0, 0.0, 0.0))
    publish(tmp_path / "splits", output=tmp_path / "dataset", annotators=[annotations])
    view([annotations, tmp_path / "gold.jsonl"], output=tmp_path / "site-jsonl")
    from_dataset = view([tmp_path / "dataset"], output=tmp_path / "site-dataset")
    assert (from_dataset.pages, from_dataset.comparisons) == (3, 1)
    for rel in ("doc/doc1/gold.html", "doc/doc1/ann-a.html", "compare/doc1.html"):
        assert (tmp_path / "site-dataset" / rel).read_text(encoding="utf-8") == (
            tmp_path / "site-jsonl" / rel
        ).read_text(encoding="utf-8")
    # The same records from two sources count once.
    both = view([tmp_path / "dataset", tmp_path / "gold.jsonl"], output=tmp_path / "site-both")
    assert both.pages == 3


def test_a_bad_dataset_row_is_reported_with_its_file_row_and_field(tmp_path: Path):
    annotations = corpus(tmp_path)
    merge([annotations], output=tmp_path / "gold.jsonl", conflicts=tmp_path / "conflicts.jsonl")
    split([tmp_path / "gold.jsonl"], output=tmp_path / "splits", ratios=(1.0, 0.0, 0.0))
    publish(tmp_path / "splits", output=tmp_path / "dataset", annotators=[annotations])
    dataset = tmp_path / "copy"
    shutil.copytree(tmp_path / "dataset", dataset)
    path = next((dataset / "data" / "annotators").glob("*.parquet"))
    table = pq.read_table(path)
    rows = table.to_pylist()
    rows[1]["stances"][0]["end"] = 10_000
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), path)
    with pytest.raises(InvalidInputError) as e:
        view([dataset], output=tmp_path / "site")
    problem = next(p for p in e.value.report.problems if p.severity == "error")
    # Rows are numbered from 0, as datasets, pandas and DuckDB number them (corpus_tools.dataset).
    assert (problem.file, problem.row, problem.code) == (str(path), 1, "offset-out-of-range")
    assert problem.path == "stances[0].end"
    assert not (tmp_path / "site").exists()
    path.write_bytes(b"not parquet")
    with pytest.raises(CorpusToolsError, match=r"not a readable parquet file"):
        view([dataset], output=tmp_path / "site")


def test_inputs_that_cannot_be_shown(tmp_path: Path):
    with pytest.raises(CorpusToolsError, match="no such file or folder"):
        view([tmp_path / "missing"], output=tmp_path / "site")
    with pytest.raises(CorpusToolsError, match="no records to show"):
        view([write_jsonl(tmp_path / "empty.jsonl", [])], output=tmp_path / "site")
    drift = write_jsonl(tmp_path / "drift.jsonl", [pass_a(), pass_b(text=TEXT.replace("Café", "Cafe"))])
    with pytest.raises(InvalidInputError) as e:
        view([drift], output=tmp_path / "site")
    assert [p.code for p in e.value.report.problems if p.severity == "error"] == ["text-drift"]
    assert not (tmp_path / "site").exists()


def test_texts_that_differ_across_sources_stop_the_site(tmp_path: Path):
    write_jsonl(tmp_path / "a.jsonl", [pass_a()])
    dataset_like = tmp_path / "b.jsonl"
    write_jsonl(dataset_like, [pass_b(text=TEXT + " More.")])
    from corpus_tools.validate import Validated, require_valid

    handles: list[Validated] = [require_valid([tmp_path / "a.jsonl"]), require_valid([dataset_like])]
    with pytest.raises(
        CorpusToolsError, match=r"doc1: the text of ann-b's record .* differs from ann-a's .* at code point"
    ):
        view(handles, output=tmp_path / "site")


def test_a_hostile_id_is_refused_before_anything_is_written(tmp_path: Path):
    rec = pass_a()
    rec["stances"][0]["id"] = '"><script>x</script>'
    write_jsonl(tmp_path / "a.jsonl", [rec])
    with pytest.raises(InvalidInputError) as e:
        view([tmp_path / "a.jsonl"], output=tmp_path / "site")
    assert [p.path for p in e.value.report.problems if p.severity == "error"] == ["stances[0].id"]
    assert not (tmp_path / "site").exists()


def test_the_output_is_refused_among_the_inputs_or_over_foreign_files(tmp_path: Path):
    annotations = corpus(tmp_path)
    with pytest.raises(CorpusToolsError, match="overlaps the input"):
        view([annotations], output=annotations / "site")
    with pytest.raises(CorpusToolsError, match="overlaps the input"):
        view([annotations], output=tmp_path)
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep", encoding="utf-8")
    with pytest.raises(CorpusToolsError, match=r"notes\.txt"):
        view([annotations], output=foreign)
    assert (foreign / "notes.txt").read_text(encoding="utf-8") == "keep"
    # A site it wrote is replaced as a whole.
    view([annotations], output=tmp_path / "site")
    (tmp_path / "site" / "doc" / "doc1" / "ann-a.html").unlink()
    view([annotations / "ann-b"], output=tmp_path / "site")
    assert [p.name for p in pages(tmp_path / "site")] == ["ann-b.html", "index.html"]


def test_a_malformed_decisions_file_names_its_line(tmp_path: Path):
    annotations = corpus(tmp_path)
    decisions = tmp_path / "decisions.jsonl"
    decisions.write_text(
        '{"id": "c1", "decision": {"accept": "ann-a"}}\n{"id": "c2", "decison": null}\n', encoding="utf-8"
    )
    with pytest.raises(CorpusToolsError, match=r"decisions.jsonl:2: unknown key 'decison'"):
        view([annotations], output=tmp_path / "site", decisions=decisions)
    assert not (tmp_path / "site").exists()


def test_a_decision_on_an_item_the_passes_agree_on_is_shown_with_it(tmp_path: Path):
    """Both passes give the same stance, held by an attribution they type differently: merge
    raises a reference conflict on the stance, whose decision the page shows with it."""
    from factory import TEXT as PLAIN
    from factory import span

    stance = {"id": "s1", **span(PLAIN, "active"), "target": "the war", "polarity": "favor", "holder": "t1"}
    records = []
    for name, kind in (("ann-a", "direct"), ("ann-b", "indirect")):
        rec = record(annotator=name, stances=[stance])
        rec["attributions"][0]["type"] = kind
        records.append(rec)
    write_jsonl(tmp_path / "a.jsonl", records)
    conflicts = tmp_path / "conflicts.jsonl"
    merge([tmp_path / "a.jsonl"], output=tmp_path / "gold.jsonl", conflicts=conflicts)
    lines = [json.loads(line) for line in conflicts.read_text(encoding="utf-8").splitlines()]
    assert sorted(c["kind"] for c in lines) == ["attribute", "reference"]
    for line in lines:
        line.update(decision={"accept": "ann-a"}, reason=f"decided: {line['kind']}")
    conflicts.write_text("".join(json.dumps(o) + "\n" for o in lines), encoding="utf-8")
    result = view([tmp_path / "a.jsonl"], output=tmp_path / "site", decisions=conflicts)
    assert (result.decisions, result.unplaced) == (2, 0)
    page = Page((tmp_path / "site/compare/doc1.html").read_text(encoding="utf-8"))
    text = " ".join("".join(page.text).split())
    assert "the passes agree on the item; the merge raised a conflict on it" in text
    assert "decided: reference" in text and "decided: attribute" in text


# -- decisions joined to the merge's conflicts ----------------------------------------------------


def three_passes(root: Path) -> Path:
    """doc1 by ann-a and ann-b, and `other` by ann-a and ann-b as well: two documents."""
    folder = corpus(root)
    write_jsonl(folder / "ann-a" / "other.jsonl", [pass_a("other")])
    write_jsonl(folder / "ann-b" / "other.jsonl", [pass_b("other")])
    return folder


def test_decisions_are_joined_to_the_merge_conflicts_by_id(tmp_path: Path):
    """An adjudication log holds only id, doc_id, layer, decision, adjudicator and reason (the
    versions are context a decision line need not carry): every decision is placed on its
    conflict, decided, as `corpus merge --decisions` applies it; corrections are placed by the
    key span they match."""
    annotations = three_passes(tmp_path)
    conflicts = tmp_path / "conflicts.jsonl"
    merge([annotations], output=tmp_path / "gold.jsonl", conflicts=conflicts)
    log = adjudication_log(conflicts, tmp_path / "decisions.jsonl")
    entries = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert all(set(e) == {"id", "doc_id", "layer", "decision", "adjudicator", "reason"} for e in entries)
    del entries[0]["doc_id"], entries[0]["layer"]  # a decision line needs only id and decision
    disgrace = next(s for s in pass_a()["stances"] if s["text"] == "disgrace")
    entries.append(
        {
            "kind": "correction",
            "doc_id": "doc1",
            "layer": "stances",
            "match": {"start": disgrace["start"], "end": disgrace["end"]},
            "decision": {"remove": True},
            "adjudicator": "adj-2",
            "reason": "S2: an event word",
        }
    )
    log.write_text("".join(json.dumps(e) + "\n" for e in entries), encoding="utf-8")
    merged = merge(
        [annotations], output=tmp_path / "gold2.jsonl", conflicts=tmp_path / "c2.jsonl", decisions=log
    )
    decided = sum(c.decided for c in merged.layers.values())
    assert decided == len(entries) - 1 and merged.stale == []

    result = view([annotations], output=tmp_path / "site", decisions=log)

    assert (result.decisions, result.corrections, result.stale, result.refused, result.unplaced) == (
        decided,
        1,
        0,
        0,
        0,
    )
    shown = {}
    for doc_id in ("doc1", "other"):
        page = Page((tmp_path / f"site/compare/{doc_id}.html").read_text(encoding="utf-8"))
        for a in page.attrs("div"):
            if a.get("class") == "decision":
                shown.setdefault(a["data-status"], []).append(a["data-action"])
    assert shown == {"decided": ["accept"] * decided, "applied": ["remove"]}
    page = Page((tmp_path / "site/compare/doc1.html").read_text(encoding="utf-8"))
    text = " ".join("".join(page.text).split())
    for e in entries[:-1]:
        if e.get("doc_id", "doc1") == "doc1":
            assert e["id"] in text and e["reason"] in text
    # The correction links to the items the passes have on its span: ann-a's s5, ann-b's s2.
    html = (tmp_path / "site/compare/doc1.html").read_text(encoding="utf-8")
    linked = re.search(r'<p class="targets">In the passes: (.*?)</p>', html)
    assert linked is not None
    tag_of = {
        a["id"]: (a["data-text"], a["data-item"][:2]) for a in page.attrs("a") if a.get("class") == "tag"
    }
    hrefs = re.findall(r'href="#([^"]+)"', linked[1])
    assert [tag_of[h] for h in hrefs] == [("s5 against", "p0"), ("s2 against", "p1")]


def test_the_merge_options_decide_which_conflicts_arise(tmp_path: Path):
    """Decisions made on an overlap merge are placed when the site is made with the same
    options, and stale (as that merge would call them) with other ones."""
    annotations = corpus(tmp_path)
    conflicts = tmp_path / "conflicts.jsonl"
    merge([annotations], output=tmp_path / "gold.jsonl", conflicts=conflicts, match="overlap", overlap=0.3)
    log = adjudication_log(conflicts, tmp_path / "decisions.jsonl")
    n = len(log.read_text(encoding="utf-8").splitlines())
    same = view([annotations], output=tmp_path / "a", decisions=log, match="overlap", overlap=0.3)
    assert (same.decisions, same.stale) == (n, 0)
    exact = view([annotations], output=tmp_path / "b", decisions=log)
    exact_merge = merge(
        [annotations], output=tmp_path / "g.jsonl", conflicts=tmp_path / "c.jsonl", decisions=log
    )
    assert exact.stale == len(exact_merge.stale) > 0
    with pytest.raises(CorpusToolsError, match=r"--overlap must be in \(0, 1\]"):
        view([annotations], output=tmp_path / "c", decisions=log, overlap=0)


def test_statuses_are_the_merge_s_and_a_refused_line_shows_its_message(tmp_path: Path):
    """The status written in the file is not trusted: a line marked `stale` that matches a
    conflict is decided, one marked `decided` that matches none is stale, a correction marked
    `applied` that matches no gold item is stale; a `replace` the merge refuses, an `accept` of
    an annotator without a version and a correction that names no adjudicator are shown
    refused, with the message `corpus merge` stops with."""
    annotations = corpus(tmp_path)
    conflicts = tmp_path / "conflicts.jsonl"
    merge([annotations], output=tmp_path / "gold.jsonl", conflicts=conflicts)
    lines = [json.loads(line) for line in conflicts.read_text(encoding="utf-8").splitlines()]
    question = next(c for c in lines if c["layer"] == "rhetorical_questions")
    question.update(decision={"accept": "ann-a"}, status="stale")
    only_a = next(c for c in lines if c["kind"] == "item" and c["versions"][1]["item"] is None)
    only_a.update(decision={"accept": "ann-b"}, status="decided")  # ann-b has no version
    stance = next(c for c in lines if c["layer"] == "stances" and c is not only_a)
    bad = {**pass_a()["stances"][0], "holder": "t2"}  # an id: the merge wants "@START-END"
    stance.update(decision={"replace": bad}, adjudicator="adj-1", status="decided")
    lines.append(
        {"id": "c-000000000000", "doc_id": "doc1", "decision": {"reject": True}, "status": "decided"}
    )
    # Corrections: one of a span no gold item has (stale, though the file says applied), one
    # that names no adjudicator (refused: it would go into gold in nobody's name).
    disgrace = next(s for s in pass_a()["stances"] if s["text"] == "disgrace")
    for match, who in (({"start": 0, "end": 4}, {"adjudicator": "adj-2"}), (disgrace, {})):
        lines.append(
            {
                "kind": "correction",
                "doc_id": "doc1",
                "layer": "stances",
                "match": {"start": match["start"], "end": match["end"]},
                "decision": {"remove": True},
                "status": "applied",
                **who,
            }
        )
    log = tmp_path / "decisions.jsonl"
    log.write_text("".join(json.dumps(o) + "\n" for o in lines), encoding="utf-8")
    with pytest.raises(CorpusToolsError) as stopped:
        merge([annotations], output=tmp_path / "g.jsonl", conflicts=tmp_path / "c.jsonl", decisions=log)

    result = view([annotations], output=tmp_path / "site", decisions=log)

    assert (result.decisions, result.corrections, result.stale, result.refused) == (4, 2, 2, 3)
    page = Page((tmp_path / "site/compare/doc1.html").read_text(encoding="utf-8"))
    statuses = {
        (a["data-action"], a["data-status"]) for a in page.attrs("div") if a.get("class") == "decision"
    }
    assert {
        ("accept", "decided"),
        ("accept", "refused"),
        ("replace", "refused"),
        ("reject", "stale"),
        ("remove", "stale"),
        ("remove", "refused"),
    } <= statuses
    text = " ".join("".join(page.text).split())
    assert str(stopped.value) in text  # the first refusal, word for word as the merge says it
    assert "accepts 'ann-b', who has no version of this item" in text
    assert 'decision.replace: holder \'t2\': write "author" or "@START-END"' in text
    assert 'give "adjudicator" in the line or run with --adjudicator NAME' in text


def test_an_adjudicator_s_item_naming_nobody_is_refused_unless_the_merge_names_one(tmp_path: Path):
    """A replacement goes into gold in the adjudicator's name: without one in the line, the
    merge refuses it unless it runs with --adjudicator, and so does the site."""
    annotations = corpus(tmp_path)
    conflicts = tmp_path / "conflicts.jsonl"
    merge([annotations], output=tmp_path / "gold.jsonl", conflicts=conflicts)
    lines = [json.loads(line) for line in conflicts.read_text(encoding="utf-8").splitlines()]
    stance = next(c for c in lines if c["layer"] == "stances")
    stance.update(decision={"replace": {**pass_a()["stances"][0], "holder": "author"}})
    log = tmp_path / "decisions.jsonl"
    log.write_text("".join(json.dumps(o) + "\n" for o in lines), encoding="utf-8")
    with pytest.raises(CorpusToolsError, match="run with --adjudicator NAME"):
        merge([annotations], output=tmp_path / "g.jsonl", conflicts=tmp_path / "c.jsonl", decisions=log)
    named = merge(
        [annotations],
        output=tmp_path / "g.jsonl",
        conflicts=tmp_path / "c.jsonl",
        decisions=log,
        adjudicator="adj-9",
    )
    assert sum(c.decided for c in named.layers.values()) == 1

    refused = view([annotations], output=tmp_path / "a", decisions=log)
    applied = view([annotations], output=tmp_path / "b", decisions=log, adjudicator="adj-9")

    assert (refused.decisions, refused.refused) == (applied.decisions, applied.refused + 1) == (1, 1)
    for site, status in (("a", "refused"), ("b", "decided")):
        page = Page((tmp_path / site / "compare/doc1.html").read_text(encoding="utf-8"))
        (shown,) = [
            a for a in page.attrs("div") if a.get("class") == "decision" and a["data-action"] != "none"
        ]
        assert (shown["data-action"], shown["data-status"]) == ("replace", status)
    text = " ".join(
        "".join(Page((tmp_path / "b/compare/doc1.html").read_text(encoding="utf-8")).text).split()
    )
    assert "adj-9" in text  # the name the merge stamps on it


# -- drawing: total order, brackets, markers ------------------------------------------------------


def same_span_record() -> Record:
    """Three attributions with one content span (t10, t2, t1, in that record order) and twelve
    stances on one span."""
    from factory import TEXT as PLAIN
    from factory import span

    rec = record()
    rec["attributions"] = [
        {
            "id": i,
            "type": "direct",
            "source": span(PLAIN, "Gerasimov"),
            "cue": span(PLAIN, "said"),
            "content": span(PLAIN, "The active phase is nearly over."),
        }
        for i in ("t10", "t2", "t1")
    ]
    rec["stances"] = [
        {
            "id": f"s{i}",
            **span(PLAIN, "lunacy"),
            "target": f"target {i}",
            "polarity": "against",
            "holder": "author",
        }
        for i in (12, 3, 7, 1, 11, 5, 9, 2, 10, 4, 8, 6)
    ]
    return Record.model_validate(rec)


def test_brackets_on_one_span_nest_and_ids_sort_as_numbers():
    rec = same_span_record()
    toks = tokens(rec.text, item_views(rec, "p0"))
    brackets = [(t.kind, t.view.id) for t in toks if t.kind in ("open", "close")]
    assert brackets == [
        ("open", "t1"),
        ("open", "t2"),
        ("open", "t10"),
        ("close", "t10"),
        ("close", "t2"),
        ("close", "t1"),
    ]
    tags = [t.view.id for t in toks if t.kind == "tag" and t.view.layer.name == "stances"]
    assert tags == [f"s{i}" for i in range(1, 13)]
    seg = next(t for t in toks if t.kind == "seg" and t.text == "lunacy")
    assert [m.view.id for m in seg.marks] == [f"s{i}" for i in range(1, 13)]


def test_two_runs_write_the_same_bytes(tmp_path: Path):
    """Marks that tie on everything but identity come out in one order, whatever the memory
    layout: two processes write byte-identical sites (the site's record file too: it holds no
    time)."""
    data = write_jsonl(
        tmp_path / "same.jsonl", [same_span_record().model_dump(mode="json", exclude_none=True)]
    )
    for n, seed in enumerate(("1", "2")):
        run = subprocess.run(
            [sys.executable, "-m", "corpus_tools", "view", str(data), "-o", str(tmp_path / f"site{n}")],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, run.stderr
    first = {
        p.relative_to(tmp_path / "site0"): p.read_bytes()
        for p in (tmp_path / "site0").rglob("*")
        if p.is_file()
    }
    second = {
        p.relative_to(tmp_path / "site1"): p.read_bytes()
        for p in (tmp_path / "site1").rglob("*")
        if p.is_file()
    }
    assert Path(".corpus-tools.json") in first
    assert first == second


def test_a_source_after_its_content_has_a_marker_and_brackets_carry_the_id(tmp_path: Path):
    from factory import span

    t = '"The plan is dead," the minister said.'
    rec = record(text=t)
    rec["attributions"] = [
        {
            "id": "t1",
            "type": "direct",
            "source": span(t, "the minister"),
            "cue": span(t, "said"),
            "content": span(t, '"The plan is dead,"'),
        }
    ]
    write_jsonl(tmp_path / "a.jsonl", [rec])
    view([tmp_path / "a.jsonl"], output=tmp_path / "site")
    page = Page((tmp_path / "site/doc/doc1/ann-a.html").read_text(encoding="utf-8"))
    links = [a for a in page.attrs("a") if a.get("class") == "link"]
    assert [(a["data-text"], a["aria-label"]) for a in links] == [
        ("source · t1", "source of t1"),
        ("cue · t1", "cue of t1"),
    ]
    opens = [a for a in page.attrs("span") if a.get("class") == "br open"]
    assert [a["data-text"] for a in opens] == ["t1"]


# -- what HTML would change, direction, file names ------------------------------------------------


def test_breaks_and_a_nul_keep_their_code_points(tmp_path: Path):
    """A NUL is written as ␀ (one code point) in a marked element the script turns back; a lone
    CR and U+2028/U+2029 sit in elements that draw the line break; CR LF stays CR LF."""
    write_jsonl(tmp_path / "a.jsonl", [breaks_pass()])
    view([tmp_path / "a.jsonl"], output=tmp_path / "site")
    html = (tmp_path / "site/doc/breaks/ann-a.html").read_text(encoding="utf-8")
    body = html[html.index('<div class="text"') :]
    body = body[body.index(">") + 1 : body.index("</div>")]
    page = Page(body)
    assert "".join(page.text) == BREAKS_TEXT.replace("\x00", "\u2400")
    assert [a["data-cc"] for a in page.attrs("span") if a.get("class") == "cc"] == ["0000"]
    assert [a["data-cc"] for a in page.attrs("span") if a.get("class") == "eol"] == ["000D", "2028", "2029"]
    assert body.count("&#13;") == 2  # the lone CR and the CR of CR LF


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "ltr"), ("he", "rtl"), ("ar-EG", "rtl"), ("az-Arab", "rtl"), ("ku-Latn", "ltr"), ("und", "auto")],
)
def test_the_text_takes_its_direction_from_its_language(tmp_path: Path, language: str, expected: str):
    write_jsonl(tmp_path / "a.jsonl", [rtl_pass(language=language)])
    view([tmp_path / "a.jsonl"], output=tmp_path / "site")
    page = Page((tmp_path / "site/doc/rtl/ann-a.html").read_text(encoding="utf-8"))
    (text,) = [a for a in page.attrs("div") if a.get("class") == "text"]
    assert (text["lang"], text["dir"]) == (language, expected)


def test_page_names_never_collide_on_any_file_system(tmp_path: Path):
    """doc_ids and annotators that differ only in case would overwrite each other on macOS and
    Windows (as `corpus export brat` knows), and Windows refuses device names: every page gets a
    name of its own, and the links lead to it."""
    records = []
    for doc_id in ("Doc1", "doc1", "CON", "nul.x", "a."):
        for annotator in ("Ann-A", "ann-a"):
            rec = record(doc_id=doc_id, annotator=annotator)
            rec["meta"]["title"] = f"{doc_id} by {annotator}"
            records.append(rec)
    write_jsonl(tmp_path / "a.jsonl", records)
    result = view([tmp_path / "a.jsonl"], output=tmp_path / "site")
    assert (result.pages, result.comparisons) == (10, 5)
    written = [p.relative_to(tmp_path / "site").as_posix() for p in pages(tmp_path / "site")]
    assert len({p.casefold() for p in written}) == len(written) == 16
    devices = {
        "con",
        "prn",
        "aux",
        "nul",
        *(f"com{i}" for i in range(1, 10)),
        *(f"lpt{i}" for i in range(1, 10)),
    }
    for path in written:
        for part in path.split("/"):
            assert part.split(".")[0].lower() not in devices and not part.endswith("."), path
    # Each record's page, reached from the index, is that record's.
    index = Page((tmp_path / "site/index.html").read_text(encoding="utf-8"))
    reached = set()
    for a in index.attrs("a"):
        if str(a["href"]).startswith("doc/"):
            html = (tmp_path / "site" / str(a["href"])).read_text(encoding="utf-8")
            doc_id = re.search(r'<p class="crumbs">.*?<code>(.*?)</code>', html)
            annotator = re.search(r"Annotation pass by <code>(.*?)</code>", html)
            assert doc_id is not None and annotator is not None
            reached.add((doc_id[1], annotator[1]))
    assert reached == {(d, a) for d in ("Doc1", "doc1", "CON", "nul.x", "a.") for a in ("Ann-A", "ann-a")}
