"""`corpus view` in a real browser: headless Chromium (Debian's package, through Playwright).

Each highlight covers exactly its span's characters; the toggles hide and show; details follow
focus and the pointer; no page logs an error or makes a request; hostile values run nothing;
pages read at 320 px and print. Without a browser these tests skip, saying why (`browser.py`);
the HTML itself is checked without one in `test_view.py`.
"""

from __future__ import annotations

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
    HOSTILE_TEXT,
    HOSTILE_TITLE,
    TEXT,
    corpus,
    gold,
    hostile_decisions,
    hostile_pass,
    pages,
    pass_a,
    pass_b,
    spans_of,
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
        assert title.startswith(HOSTILE_TITLE) and "pwned" not in title.replace(HOSTILE_TITLE, "")
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
