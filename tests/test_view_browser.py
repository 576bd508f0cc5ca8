"""`corpus view` in a real browser: headless Chromium (Debian's package, through Playwright).

Each highlight covers exactly its span's characters; the toggles hide and show; details follow
focus and the pointer; no page logs an error or makes a request; hostile values run nothing;
pages read at 320 px and print. Without a browser these tests skip, saying why (`browser.py`);
the HTML itself is checked without one in `test_view.py`.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from corpus_tools.merge import merge
from corpus_tools.view import view

from browser import launch, unavailable, visit
from factory import write_jsonl
from view_helpers import (
    BREAKS_TEXT,
    HOSTILE_TEXT,
    HOSTILE_TITLE,
    RLO,
    RTL_TEXT,
    TEXT,
    adjudication_log,
    breaks_pass,
    corpus,
    gold,
    hostile_decisions,
    hostile_pass,
    many_tags_pass,
    overridden_pass,
    pages,
    pass_a,
    pass_b,
    rtl_pass,
    spans_of,
    spoofing_pass,
    strip_csp,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    reason = unavailable()
    if reason is not None:
        pytest.skip(f"browser tests skipped: {reason}")
    with launch() as b:
        yield b


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The overlapping document (two passes, gold, decisions) and the hostile one."""
    root = tmp_path_factory.mktemp("view")
    annotations = corpus(root)
    write_jsonl(root / "gold.jsonl", [gold()])
    merge([annotations], output=root / "merged.jsonl", conflicts=root / "conflicts.jsonl")
    lines = [json.loads(line) for line in (root / "conflicts.jsonl").read_text(encoding="utf-8").splitlines()]
    for line in lines:
        line.update(decision={"reject": True}, adjudicator="adj-1", reason="decided in a test")
    decisions = root / "decisions.jsonl"
    decisions.write_text("".join(json.dumps(o) + "\n" for o in lines), encoding="utf-8")
    view([annotations, root / "gold.jsonl"], output=root / "site", decisions=decisions)

    hostile = root / "hostile"
    write_jsonl(hostile / "annotations" / "a.jsonl", [hostile_pass("ann-a")])
    write_jsonl(hostile / "annotations" / "b.jsonl", [hostile_pass("ann-b")])
    merge([hostile / "annotations"], output=hostile / "gold.jsonl", conflicts=hostile / "conflicts.jsonl")
    view(
        [hostile / "annotations", hostile / "gold.jsonl"],
        output=hostile / "site",
        decisions=hostile_decisions(hostile / "decisions.jsonl", hostile / "conflicts.jsonl"),
        title=HOSTILE_TITLE,
    )
    gold_hostile = json.loads((hostile / "gold.jsonl").read_text(encoding="utf-8"))
    return {"site": root / "site", "hostile": hostile / "site", "hostile_gold": gold_hostile}


def records_of(sites: dict[str, Any], rel: str) -> list[dict[str, Any]]:
    """The records a page of the test sites shows."""
    if rel.startswith("hostile:"):
        rel = rel.removeprefix("hostile:")
        by_page = {
            "doc/hostile/ann-a.html": [hostile_pass("ann-a")],
            "doc/hostile/ann-b.html": [hostile_pass("ann-b")],
            "doc/hostile/gold.html": [sites["hostile_gold"]],
            "compare/hostile.html": [hostile_pass("ann-a"), hostile_pass("ann-b")],
        }
        return by_page[rel]
    return {
        "doc/doc1/ann-a.html": [pass_a()],
        "doc/doc1/ann-b.html": [pass_b()],
        "doc/doc1/gold.html": [gold()],
        "compare/doc1.html": [pass_a(), pass_b()],
    }[rel]


PAGES = [
    "doc/doc1/ann-a.html",
    "doc/doc1/ann-b.html",
    "doc/doc1/gold.html",
    "compare/doc1.html",
    "hostile:doc/hostile/ann-a.html",
    "hostile:doc/hostile/gold.html",
    "hostile:compare/hostile.html",
]


def path_of(sites: dict[str, Any], rel: str) -> Path:
    if rel.startswith("hostile:"):
        return sites["hostile"] / rel.removeprefix("hostile:")
    return sites["site"] / rel


READ_SPANS = """() => {
  const joined = {};
  for (const seg of document.querySelectorAll('.text .seg'))
    for (const key of seg.dataset.spans.split(' ')) joined[key] = (joined[key] || '') + seg.textContent;
  const parts = [...document.querySelectorAll('.items q.part')].map(q => ({
    key: q.dataset.span, start: +q.dataset.start, end: +q.dataset.end, text: q.textContent,
    id: q.closest('.card').querySelector('.id').textContent, layer: q.closest('.card').dataset.layer}));
  const texts = [...document.querySelectorAll('.text')].map(t => t.textContent);
  const undrawn = [...document.querySelectorAll('.text .m')].filter(m => m.getClientRects().length === 0).length;
  return {joined, parts, texts, undrawn};
}"""


@pytest.mark.parametrize("rel", PAGES)
def test_each_highlight_covers_exactly_its_span(browser, sites, rel):
    records = records_of(sites, rel)
    with visit(browser, path_of(sites, rel)) as v:
        found = v.page.evaluate(READ_SPANS)
    text = records[0]["text"]
    assert found["texts"] == [text] * len(records)  # the text element's text is the document's
    expected = sorted((layer, i, s, e, t) for r in records for layer, i, _part, s, e, t in spans_of(r))
    drawn = sorted((p["layer"], p["id"], p["start"], p["end"], p["text"]) for p in found["parts"])
    assert drawn == expected
    for part in found["parts"]:
        assert found["joined"][part["key"]] == text[part["start"] : part["end"]] == part["text"], part
    assert found["undrawn"] == 0


def test_toggles_hide_and_show_layers_and_labels(browser, sites):
    with visit(browser, sites["site"] / "doc/doc1/ann-a.html") as v:
        page = v.page
        stance_tags = page.locator(".text .tag[data-layer=stances]")
        against = page.locator(".text .tag[data-layer=stances][data-label=against]")
        favor = page.locator(".text .tag[data-layer=stances][data-label=favor]")
        questions = page.locator(".text .tag[data-layer=rhetorical_questions]")
        decoration = "el => getComputedStyle(el).textDecorationLine"
        first_stance = page.locator(".text .m[data-layer=stances]").first
        assert stance_tags.count() == 5 and all(t.is_visible() for t in stance_tags.all())
        assert first_stance.evaluate(decoration) == "underline"

        page.get_by_role("checkbox", name="Stances").uncheck()
        assert not any(t.is_visible() for t in stance_tags.all())
        assert first_stance.evaluate(decoration) == "none"
        assert all(t.is_visible() for t in questions.all())
        assert not page.locator(".items .card[data-layer=stances]").first.is_visible()

        page.get_by_role("checkbox", name="Stances").check()
        assert all(t.is_visible() for t in stance_tags.all())
        assert first_stance.evaluate(decoration) == "underline"

        page.locator("input[data-toggle-layer=stances][data-toggle-label=against]").uncheck()
        assert not any(t.is_visible() for t in against.all())
        assert all(t.is_visible() for t in favor.all())
        page.locator("input[data-toggle-layer=stances][data-toggle-label=against]").check()
        assert all(t.is_visible() for t in against.all())
        assert v.errors == []


def test_details_follow_keyboard_focus_and_the_pointer(browser, sites):
    with visit(browser, sites["site"] / "doc/doc1/ann-a.html") as v:
        page = v.page
        details = page.locator("#details")
        assert not details.is_visible()
        for _ in range(80):  # Tab from the top of the page to the first tag
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.classList.contains('tag')"):
                break
        else:
            pytest.fail("Tab never reached an item's tag")
        assert page.evaluate("document.activeElement.dataset.text") == "t1 indirect"
        assert details.is_visible()
        assert "t1" in details.inner_text() and "the envoy had warned" in details.inner_text()
        # Its spans are lit in the text.
        assert page.locator(".text .m.active").count() >= 3
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.dataset.text") == "t2 direct"
        assert "nested_in" in details.inner_text()
        page.keyboard.press("Escape")
        assert not details.is_visible()
        # The pointer over a segment shows every item covering it, innermost first.
        page.locator(".text .seg").filter(has_text="shameful").last.hover()
        cards = details.locator(".card .id").all_inner_texts()
        assert cards == ["s1", "s2", "t2", "t1"]
        assert v.errors == []


@pytest.mark.parametrize("site", ["site", "hostile"])
def test_no_page_logs_an_error_or_makes_a_request(browser, sites, site):
    for path in pages(sites[site]):
        with visit(browser, path) as v:
            v.page.wait_for_load_state("load")
            assert v.page.evaluate("document.documentElement.classList.contains('js')"), path
            for tag in v.page.locator(".text .tag").all()[:10]:
                tag.focus()
            assert v.errors == [], path
            assert v.requests == [v.url], path


def interact(page: Any) -> None:
    """Everything a reader does: hover every segment, focus and click every tag and link."""
    for seg in page.locator(".text .seg").all():
        seg.hover()
    for tag in page.locator(".text .tag, .text .link").all():
        tag.focus()
        tag.click()
    page.keyboard.press("Escape")
    page.locator("details").evaluate_all("els => els.forEach(e => e.open = true)")


@pytest.mark.parametrize("rel", [p for p in PAGES if p.startswith("hostile:")] + ["hostile:index.html"])
def test_hostile_values_run_no_script(browser, sites, rel):
    path = path_of(sites, rel)
    with visit(browser, path) as v:
        interact(v.page)
        title = v.page.title()
        # The title from the data, isolated (FSI ... PDI), then the page's own words.
        assert title.startswith(f"\u2068{HOSTILE_TITLE}\u2069")
        assert "pwned" not in title.replace(HOSTILE_TITLE, "")
        assert v.page.evaluate("typeof window.pwned") == "undefined"
        assert v.page.locator("img, svg, textarea, iframe").count() == 0
        if "doc/" in rel:
            assert v.page.locator(".text").first.text_content() == HOSTILE_TEXT
        assert v.errors == []
        assert v.requests == [v.url]


def test_escaping_alone_keeps_scripts_out(browser, sites):
    """Served without its policy, a hostile page still runs only its own script."""
    for path in pages(sites["hostile"]):
        bare = path.with_name(f"bare-{path.name}")
        bare.write_text(strip_csp(path.read_text(encoding="utf-8")), encoding="utf-8")
        try:
            with visit(browser, bare) as v:
                assert "Content-Security-Policy" not in v.page.content()
                interact(v.page)
                assert "pwned" not in v.page.title().replace(HOSTILE_TITLE, "")
                assert v.page.evaluate("typeof window.pwned") == "undefined"
                assert v.page.evaluate("document.documentElement.classList.contains('js')")
                assert v.errors == []
        finally:
            bare.unlink()


def test_the_policy_blocks_any_other_script(browser, sites):
    """A script that did get into a page (here, put there by hand) is refused by the policy,
    while the page's own script runs."""
    path = sites["site"] / "doc/doc1/ann-a.html"
    injected = path.with_name("injected.html")
    html = path.read_text(encoding="utf-8").replace(
        "</main>", "<script>document.title='pwned'</script><img src=x onerror=\"window.pwned=1\"></main>"
    )
    injected.write_text(html, encoding="utf-8")
    try:
        with visit(browser, injected) as v:
            assert v.page.title() != "pwned"
            assert v.page.evaluate("typeof window.pwned") == "undefined"
            assert v.page.evaluate("document.documentElement.classList.contains('js')")
            assert any("Content Security Policy" in e for e in v.errors), v.errors
    finally:
        injected.unlink()


@pytest.mark.parametrize("rel", ["index.html", "doc/doc1/ann-a.html", "compare/doc1.html"])
def test_pages_read_at_320_px(browser, sites, rel):
    with visit(browser, sites["site"] / rel, width=320, height=640) as v:
        assert v.page.evaluate("document.documentElement.scrollWidth") <= 320
        if rel != "index.html":
            # The legend starts folded, so that the text comes first; details are a bottom sheet.
            assert not v.page.locator(".legend input").first.is_visible()
            v.page.locator(".text .tag").first.focus()
            box = v.page.locator("#details").bounding_box()
            assert box is not None and box["width"] <= 320 and box["y"] + box["height"] <= 640 + 1


def test_pages_print(browser, sites):
    with visit(browser, sites["site"] / "compare/doc1.html") as v:
        v.page.locator(".text .tag").first.focus()
        v.page.emulate_media(media="print")
        assert not v.page.locator("#details").is_visible()
        assert not v.page.locator(".legend input").first.is_visible()
        assert v.page.locator(".text").first.is_visible()
        assert v.page.pdf().startswith(b"%PDF")
        assert v.errors == []


def test_the_bundled_text_reaches_the_page_unchanged(browser, sites):
    """CR LF and non-ASCII survive HTML parsing: offsets stay code points."""
    with visit(browser, sites["site"] / "doc/doc1/gold.html") as v:
        assert v.page.locator(".text").text_content() == TEXT


# -- what HTML and CSS would change, direction, bidi controls, narrow screens --------------------


@pytest.fixture(scope="module")
def more(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Sites of: a text with line breaks CSS does not break at and a NUL; a Hebrew text in two
    passes; unclosed RLOs in a title, a target and a decision; a text with forty tags; a text
    with an unclosed RLO before its markers."""
    root = tmp_path_factory.mktemp("more")
    write_jsonl(root / "breaks.jsonl", [breaks_pass()])
    view([root / "breaks.jsonl"], output=root / "breaks")
    b = rtl_pass("ann-b")
    b["stances"] = []
    write_jsonl(root / "rtl.jsonl", [rtl_pass(), b])
    view([root / "rtl.jsonl"], output=root / "rtl")
    write_jsonl(root / "spoof.jsonl", [spoofing_pass("ann-a"), spoofing_pass("ann-b")])
    merge([root / "spoof.jsonl"], output=root / "gold.jsonl", conflicts=root / "conflicts.jsonl")
    log = adjudication_log(root / "conflicts.jsonl", root / "decisions.jsonl")
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    lines[0].update(adjudicator=f"adj-1{RLO}", reason=f"rule S2 applies{RLO} here")
    log.write_text("".join(json.dumps(o) + "\n" for o in lines), encoding="utf-8")
    view([root / "spoof.jsonl"], output=root / "spoof", decisions=log, title=f"Corpus{RLO} title")
    write_jsonl(root / "long.jsonl", [many_tags_pass()])
    view([root / "long.jsonl"], output=root / "long")
    write_jsonl(root / "override.jsonl", [overridden_pass()])
    view([root / "override.jsonl"], output=root / "override")
    return {name: root / name for name in ("breaks", "rtl", "spoof", "long", "override")}


AT = """([offsets]) => {
  // The box of each code point of the (first) text element, by document offset.
  const nodes = [];
  const walk = document.createTreeWalker(document.querySelector('.text'), NodeFilter.SHOW_TEXT);
  let node, at = 0;
  while ((node = walk.nextNode())) { nodes.push([at, node]); at += node.data.length; }
  return offsets.map(offset => {
    const [start, found] = nodes.filter(([s, n]) => s <= offset && offset < s + n.data.length)[0];
    const r = document.createRange();
    r.setStart(found, offset - start); r.setEnd(found, offset - start + 1);
    const box = r.getBoundingClientRect();
    return {top: box.top, left: box.left};
  });
}"""


def test_line_breaks_and_a_nul_keep_the_text_exact_and_show(browser, more):
    """A lone CR, U+2028 and U+2029 are drawn as line breaks, a NUL as a visible mark, and the
    text element's text is still the record's, code point for code point."""
    with visit(browser, more["breaks"] / "doc/breaks/ann-a.html") as v:
        found = v.page.evaluate(READ_SPANS)
        assert found["texts"] == [BREAKS_TEXT]
        for part in found["parts"]:
            assert found["joined"][part["key"]] == BREAKS_TEXT[part["start"] : part["end"]] == part["text"]
        breaks = [
            i for i, c in enumerate(BREAKS_TEXT) if c in "\r\u2028\u2029" and BREAKS_TEXT[i + 1] != "\n"
        ]
        crlf = BREAKS_TEXT.index("\r\n")
        assert len(breaks) == 3
        for at in [*breaks, crlf + 1]:
            before, after = v.page.evaluate(AT, [[at - 1, at + 1]])
            assert after["top"] > before["top"] + 10, (at, before, after)
        nul = BREAKS_TEXT.index("\x00")
        box = v.page.locator(".text .cc").bounding_box()
        assert box is not None and box["width"] > 2
        before, after = v.page.evaluate(AT, [[nul - 1, nul + 1]])
        assert after["left"] > before["left"] and after["top"] == before["top"]  # no break at a NUL
        assert v.errors == []


ORDER = """([selector, needle]) => {
  // The left edge of each character of `needle` where it first occurs in the text of an
  // element matching `selector`, across its child elements (null: not found). A bidi control
  // that leaked into it would reverse them.
  for (const root of document.querySelectorAll(selector)) {
    const chars = [];
    const walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    let node;
    while ((node = walk.nextNode())) for (let i = 0; i < node.data.length; i++) chars.push([node, i]);
    const at = root.textContent.indexOf(needle);
    if (at < 0) continue;
    return chars.slice(at, at + needle.length).map(([n, i]) => {
      const r = document.createRange(); r.setStart(n, i); r.setEnd(n, i + 1);
      return r.getBoundingClientRect().left;
    });
  }
  return null;
}"""


def left_to_right(page: Any, selector: str, needle: str) -> bool:
    xs = page.evaluate(ORDER, [selector, needle])
    assert xs is not None, (selector, needle)
    return all(a < b for a, b in itertools.pairwise(xs))


def test_right_to_left_text_reads_right_to_left_and_offsets_stay_in_order(browser, more):
    for rel in ("doc/rtl/ann-a.html", "compare/rtl.html"):
        with visit(browser, more["rtl"] / rel) as v:
            page = v.page
            # `[37, 49)` after a Hebrew span reads as written, not reordered by it.
            offsets = page.locator(".items .offsets").all_inner_texts()
            assert offsets and all(left_to_right(page, ".items dd", o) for o in offsets)
            directions = page.evaluate(
                "[...document.querySelectorAll('.text')].map(t => getComputedStyle(t).direction)"
            )
            assert set(directions) == {"rtl"}
            found = page.evaluate(READ_SPANS)
            assert set(found["texts"]) == {RTL_TEXT}
            for part in found["parts"]:
                assert found["joined"][part["key"]] == part["text"]
            # The brackets of an attribution carry its id at both ends.
            bracket = page.locator(".text .br.open").first
            assert "t1" in bracket.evaluate("el => getComputedStyle(el, '::before').content")
            assert v.errors == []


def test_a_bidi_override_in_the_data_spoofs_nothing_around_it(browser, more):
    """An unclosed RIGHT-TO-LEFT OVERRIDE in a title, a target, an adjudicator and a reason stays
    inside its value: the page's own words after it read left to right."""
    with visit(browser, more["spoof"] / "compare/spoof.html") as v:
        page = v.page
        assert left_to_right(page, "h1", "passes compared")  # after the title
        assert left_to_right(page, ".disagreements .versions", "; holder author")  # after the target
        assert left_to_right(page, ".decision .reason", ": rule S2")  # after the adjudicator
        # <title> can hold no element: the title is isolated by FSI ... PDI.
        assert page.title() == f"\u2068Spoofed title{RLO}\u2069 · comparison"
        assert v.errors == []
    with visit(browser, more["spoof"] / "index.html") as v:
        assert v.page.title() == f"\u2068Corpus{RLO} title\u2069"


LABELS = """(selector) => [...document.querySelectorAll(selector)].map(el => {
  // The marker's label (drawn by CSS from data-text) laid out as the marker lays it out: as the
  // only text of the marker (the attribute emptied meanwhile). The left edge of each of its
  // characters, in logical order.
  const text = el.dataset.text, label = document.createTextNode(text);
  el.dataset.text = "";
  el.appendChild(label);
  const xs = [...label.data].map((_, i) => {
    const r = document.createRange(); r.setStart(label, i); r.setEnd(label, i + 1);
    return r.getBoundingClientRect().left;
  });
  label.remove();
  el.dataset.text = text;
  return [text, xs];
})"""


def labels_read_left_to_right(page: Any, selector: str) -> list[str]:
    """The labels of the markers matching `selector`, each checked to read left to right."""
    found = page.evaluate(LABELS, selector)
    for text, xs in found:
        assert all(a < b for a, b in itertools.pairwise(xs)), (text, xs)
    return [text for text, _xs in found]


def test_markers_read_left_to_right_after_an_override_and_in_right_to_left_text(browser, more):
    """An unclosed RLO in the document's text reverses the text after it (it is the document's),
    but not the labels of the markers drawn there; in a right-to-left text a tag still reads
    sign, id, label."""
    with visit(browser, more["override"] / "doc/override/ann-a.html") as v:
        assert labels_read_left_to_right(v.page, ".text .link") == ["source · t1", "cue · t1"]
        assert labels_read_left_to_right(v.page, ".text .br") == ["t1", "t1"]
        assert labels_read_left_to_right(v.page, ".text .tag") == ["t1 direct", "s1 against"]
        assert v.errors == []
    with visit(browser, more["rtl"] / "compare/rtl.html") as v:
        tags = labels_read_left_to_right(v.page, ".text .tag")
        assert "∅ s1 against" in tags
        assert v.errors == []


def test_at_320_px_the_focused_tag_is_never_under_the_details_sheet(browser, more):
    with visit(browser, more["long"] / "doc/long/ann-a.html", width=320, height=640) as v:
        page = v.page
        checked, seen = 0, set()
        for _ in range(300):
            page.keyboard.press("Tab")
            state = page.evaluate(
                """() => {
                  const el = document.activeElement, sheet = document.getElementById('details');
                  if (!el || el === document.body || sheet.contains(el)) return null;
                  const box = el.getBoundingClientRect();
                  return {id: el.id || el.textContent, tag: el.classList.contains('tag'), bottom: box.bottom,
                          top: box.top, sheet: sheet.hidden ? null : sheet.getBoundingClientRect().top,
                          height: window.innerHeight};
                }"""
            )
            if state is None:
                continue
            if state["id"] in seen:
                break
            seen.add(state["id"])
            if state["sheet"] is not None:
                assert state["top"] >= 0 and state["bottom"] <= state["sheet"], state
                checked += state["tag"]
        assert checked == 40  # every tag was focused with the sheet up, none under it
        assert v.errors == []


def test_only_the_keyboard_focus_is_announced(browser, sites):
    with visit(browser, sites["site"] / "doc/doc1/ann-a.html") as v:
        details = v.page.locator("#details")
        v.page.locator(".text .seg").filter(has_text="shameful").last.hover()
        assert details.is_visible() and details.get_attribute("aria-live") == "off"
        v.page.locator(".text .tag").first.focus()
        assert details.get_attribute("aria-live") == "polite"
        v.page.locator(".text .seg").filter(has_text="farce").last.hover()
        assert details.get_attribute("aria-live") == "off"
        assert v.errors == []


LOOK = """el => { const s = getComputedStyle(el);
  return [s.color, s.backgroundColor, s.textDecorationLine, s.textDecorationStyle, s.textDecorationColor,
          s.fontWeight, s.fontStyle, s.boxShadow, s.borderBottomStyle, s.borderBottomColor].join('|'); }"""


def test_every_legend_sample_looks_like_something_in_the_text(browser, sites):
    """Each sample of the legend (a layer's parts, its labels) is drawn as some span of the
    text is: no sample colour the text never uses."""
    with visit(browser, sites["site"] / "doc/doc1/ann-a.html") as v:
        page = v.page
        looks: dict[tuple[str, str], set[str]] = {}
        for mark in page.locator(".text .m").all():
            key = (mark.get_attribute("data-layer"), mark.get_attribute("data-part"))
            looks.setdefault(key, set()).add(mark.evaluate(LOOK))
        samples = page.locator(".legend .m.sample").all()
        assert samples
        for sample in samples:
            key = (sample.get_attribute("data-layer"), sample.get_attribute("data-part"))
            assert sample.evaluate(LOOK) in looks[key], (key, sample.get_attribute("data-label"))
