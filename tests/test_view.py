"""`corpus_tools.view`: the drawing model, the written pages (read as HTML, without a browser),
escaping, the comparison and its decisions, every kind of input, and bad inputs."""

from __future__ import annotations

import json
import re
import shutil
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
    HOSTILE,
    HOSTILE_TEXT,
    HOSTILE_TITLE,
    TEXT,
    Page,
    corpus,
    gold,
    hostile_decisions,
    hostile_pass,
    pages,
    pass_a,
    pass_b,
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
    assert any(a.get("id") == "details" and a.get("aria-live") == "polite" for a in page.attrs("div"))
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
    replacement = {**pass_a()["stances"][0], "target": "the agreement"}
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

    assert (result.decisions, result.corrections, result.unplaced) == (3, 1, 1)
    assert decisions.read_bytes() == before  # inputs are never modified
    page = Page((tmp_path / "site/compare/doc1.html").read_text(encoding="utf-8"))
    text = " ".join("".join(page.text).split())
    assert "accept the version of ann-a" in text and "Q4: the author answers it" in text
    assert "reject: nothing goes into gold" in text and "A15: not reported as actual" in text
    assert "replace with the adjudicator's item" in text and "the agreement" in text
    assert "Decisions on items no pass has now" in text and "made on older annotations" in text
    assert "Corrections to gold (1)" in text and "remove the gold item" in text and "“disgrace”" in text
    assert "adj-2" in text and "S2: an event word" in text
    # A disagreement without a decision says so.
    assert "No decision in the decisions file." in text
    decided = [a for a in page.attrs("div") if a.get("class") == "decision"]
    assert sorted(a["data-action"] for a in decided) == ["accept", "reject", "reject", "remove", "replace"]


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
