"""Offset units: conversion into code points and back, and choosing the unit of a document."""

import regex
from hypothesis import given
from hypothesis import strategies as st

from corpus_tools.convert.offsets import UNITS, OffsetMap, resolve

TEXT = "Who pays?\r\nThe bill 💸 — grows."


def test_utf16_offsets_after_an_emoji_shift_by_one():
    omap = OffsetMap(TEXT, UNITS["utf16"])
    start = TEXT.index("grows")
    assert omap.to_codepoint(start + 1) == start
    emoji = TEXT.index("💸")
    assert omap.to_codepoint(emoji + 1) is None  # inside the surrogate pair


def test_bytes_count_the_em_dash_as_three():
    omap = OffsetMap(TEXT, UNITS["utf8"])
    start = TEXT.index("grows")
    assert omap.to_codepoint(len(TEXT[:start].encode("utf-8"))) == start


def test_brat_counts_cr_lf_as_one():
    omap = OffsetMap(TEXT, UNITS["codepoint+crlf"])
    start = TEXT.index("The")
    assert omap.to_codepoint(start - 1) == start
    assert omap.from_codepoint(start) == start - 1
    assert omap.length == len(TEXT) - 1


@given(
    st.text(
        alphabet=st.sampled_from(["a", " ", "\r", "\n", "—", "💸", "é", "\u0301", "\u200d", "🏽"]),
        max_size=40,
    )
)
def test_every_boundary_survives_a_round_trip_through_each_unit(text):
    clusters = {m.start() for m in regex.finditer(r"\X", text)} | {len(text)}
    for unit in UNITS.values():
        omap = OffsetMap(text, unit)
        for cp in range(len(text) + 1):
            crlf_inside = 0 < cp < len(text) and text[cp - 1] == "\r" and text[cp] == "\n"
            if (unit.merges_crlf and crlf_inside) or (unit.name == "grapheme" and cp not in clusters):
                continue  # inside one step of the unit: no such offset
            assert omap.to_codepoint(omap.from_codepoint(cp)) == cp


def test_grapheme_clusters_count_crlf_and_emoji_sequences_as_one():
    text = "Fine 👩\u200d💻\r\nIn 2022 it grew."
    omap = OffsetMap(text, UNITS["grapheme"])
    start = text.index("2022")
    assert omap.to_codepoint(start - 3) == start  # the ZWJ sequence and the CR LF count one each
    assert omap.to_codepoint(6) == text.index("\r")  # after the whole ZWJ sequence


def test_the_unit_is_chosen_by_the_span_texts():
    start = TEXT.index("grows")
    spans = [([(start + 1, start + 6)], "grows")]
    res = resolve(TEXT, spans, ["codepoint", "utf16"])
    assert res.unit.name == "utf16"
    assert (res.checks[0].start, res.checks[0].end) == (start, start + 5)


def test_without_span_texts_word_boundaries_decide_and_a_bad_span_stays_bad():
    start = TEXT.index("grows")
    spans = [([(start + 1, start + 6)], None), ([(TEXT.index("💸") + 1, start)], None)]
    res = resolve(TEXT, spans, ["utf16", "codepoint"])
    assert res.unit.name == "utf16"
    assert res.checks[0].ok
    assert not res.checks[1].ok
    assert "inside a character" in res.checks[1].reason


def test_a_span_that_fits_only_another_unit_is_reported_as_a_wrong_unit():
    d, b = TEXT.index("—"), TEXT.index("grows")
    # Both spans lie after the emoji: the dash in code points, "grows" in UTF-16 units.
    spans = [([(0, 3)], "Who"), ([(d, d + 1)], "—"), ([(b + 1, b + 6)], "grows")]
    res = resolve(TEXT, spans, ["codepoint", "utf16"])
    assert res.unit.name == "codepoint"
    assert not res.checks[2].ok
    assert "wrong offset unit" in res.hints[2]
