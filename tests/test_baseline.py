"""`corpus baseline`: the three baselines on a small generated corpus, scored with the evaluate
library, deterministic, and their table on the card (stale when the data changed)."""

from __future__ import annotations

import random
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from corpus_tools.baseline import (
    FIGURES,
    baselines,
    fingerprint,
    load_results,
    question_spans,
    results_section,
)
from corpus_tools.errors import CorpusToolsError
from corpus_tools.layers import LAYERS
from corpus_tools.publish import publish
from corpus_tools.tokens import TagStats, to_bio

from factory import write_jsonl
from publish_helpers import make_split_dir

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from generate import make_document


def corpus() -> dict[str, list[dict[str, Any]]]:
    """Ten generated documents (questions are whole sentences ending in `?`): 6 / 2 / 2, every
    layer with items in every split."""
    rng = random.Random(5)
    docs = [{**make_document(rng, f"doc{i}", "gold", size=2500), "annotator": "gold"} for i in range(10)]
    return {"train": docs[:6], "validation": docs[6:8], "test": docs[8:]}


@pytest.fixture(scope="module")
def split_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_split_dir(tmp_path_factory.mktemp("baseline") / "splits", corpus())


@pytest.fixture(scope="module")
def results(split_dir: Path) -> Any:
    return baselines(split_dir, output=split_dir.parent / "results.json")


def row(results: Any, baseline: str, layer: str) -> Any:
    return next(r for r in results.rows if (r.baseline, r.layer) == (baseline, layer))


def test_every_baseline_is_scored_on_test(results: Any) -> None:
    assert [(r.baseline, r.layer) for r in results.rows] == [
        ("question-mark rule", "rhetorical_questions"),
        *[("token CRF", name) for name in LAYERS],
        *[("majority label", name) for name in LAYERS],
        *[("tokens-config ceiling", name) for name in LAYERS],
    ]
    assert results.documents == {"train": 6, "validation": 2, "test": 2}
    # Every generated question is a whole sentence ending in `?` and nothing else ends in `?`,
    # so the rule finds each one exactly: strict span P = R = F1 = 1. It predicts no kind.
    rule = row(results, "question-mark rule", "rhetorical_questions")
    assert (rule.test["span_p"], rule.test["span_r"], rule.test["span_f1"]) == (1.0, 1.0, 1.0)
    assert rule.test["labelled_f1"] is None and rule.test["macro_f1"] is None
    assert rule.setting == {"start": "sentence"}  # the first of the starts that tie on validation
    assert rule.validation is not None and rule.validation["span_f1"] == 1.0
    # A layer without tuples has no tuple figure; one with them has it (None: not predicted).
    assert "tuple_f1" not in rule.test and rule.test.keys() < set(FIGURES)


def test_the_majority_label_is_worth_its_share_of_test_and_is_not_tuned(results: Any) -> None:
    docs = corpus()
    for name, layer in LAYERS.items():
        train = Counter(item[layer.label] for r in docs["train"] for item in r[name])
        label = max(layer.names, key=lambda n: (train[n], -layer.names.index(n)))
        test = [item[layer.label] for r in docs["test"] for item in r[name]]
        majority = row(results, "majority label", name)
        # The label is train's most frequent: nothing is chosen on validation.
        assert majority.predicts == f"gold spans, each `{label}` (most frequent in train)"
        assert majority.setting == {} and majority.validation is None
        # Gold's spans: span F1 1; labelled F1 = the share of test items with that label.
        assert majority.test["span_f1"] == 1.0
        assert majority.test["labelled_f1"] == pytest.approx(test.count(label) / len(test))
    table = results.to_markdown()
    assert "| majority label | `stances` | gold spans, each `" in table
    assert "(most frequent in train) | not tuned | 1.000 |" in table
    chosen = table.split("Chosen on validation: ")[1].split(". Versions")[0]
    assert "majority" not in chosen and "token CRF on `stances`" in chosen


def test_the_ceiling_of_the_tokens_config_is_what_the_tags_keep(results: Any, split_dir: Path) -> None:
    # Gold's tags of test read back: every tagged item comes back and nothing else, so
    # precision is 1 and recall the share of items the tags hold (TagStats, as on the card).
    from corpus_tools.layers import Record

    stats = TagStats()
    for r in corpus()["test"]:
        to_bio(Record.model_validate(r), stats=stats)
    for name in LAYERS:
        ceiling = row(results, "tokens-config ceiling", name)
        assert ceiling.validation is None
        assert ceiling.test["span_p"] == 1.0
        assert ceiling.test["span_r"] == pytest.approx(
            (stats.items[name] - stats.lost[name]) / stats.items[name]
        )
    # Tags name a question's kind and a stance's polarity, never an attribution's type; its
    # source and cue come back with its content.
    assert row(results, "tokens-config ceiling", "stances").test["labelled_f1"] == 1.0
    attributions = row(results, "tokens-config ceiling", "attributions").test
    assert attributions["labelled_f1"] is None and attributions["tuple_f1"] is not None
    assert attributions["tuple_f1"] > 0.9 * attributions["span_f1"]


def test_a_published_dataset_folder_gives_the_same_results(
    tmp_path: Path, results: Any, split_dir: Path
) -> None:
    # The card alone is enough: the dataset folder holds what the split folder held.
    dataset = publish(split_dir, output=tmp_path / "dataset").output
    assert fingerprint(dataset) == fingerprint(split_dir) == results.fingerprint
    from_dataset = baselines(dataset)
    assert from_dataset.model_dump(exclude={"command"}) == results.model_dump(exclude={"command"})
    assert from_dataset.command == f"corpus baseline {dataset}"
    # A folder that is neither is named, with what is expected.
    with pytest.raises(CorpusToolsError, match=r"neither a split folder .* nor a published dataset folder"):
        baselines(tmp_path)


def test_the_crf_is_tuned_on_validation_and_predicts_what_tags_can_say(results: Any) -> None:
    for name in LAYERS:
        crf = row(results, "token CRF", name)
        assert crf.setting in [
            {"c1": 0.05, "c2": 0.01},
            {"c1": 0.05, "c2": 0.1},
            {"c1": 0.5, "c2": 0.01},
            {"c1": 0.5, "c2": 0.1},
        ]
        assert all(v is None or 0.0 <= v <= 1.0 for v in crf.test.values())
    # Attributions are tagged by part: their type is not predicted, so not scored.
    assert row(results, "token CRF", "attributions").test["labelled_f1"] is None
    assert row(results, "token CRF", "stances").test["labelled_f1"] is not None


def test_the_results_are_deterministic_and_written_atomically(results: Any, split_dir: Path) -> None:
    again = baselines(split_dir)
    assert again.model_dump(exclude={"command"}) == results.model_dump(exclude={"command"})
    written = load_results(split_dir.parent / "results.json")
    assert written == results and written.fingerprint == fingerprint(split_dir)
    assert written.command == f"corpus baseline {split_dir} --output {split_dir.parent / 'results.json'}"


def test_the_question_mark_rule_on_a_tokens_row() -> None:
    from corpus_tools.layers import Record

    text = "He asked: and why not? Or is it so, but who knows? Fine."
    rec = Record.model_validate({"doc_id": "d", "annotator": "a", "text": text})
    row_ = to_bio(rec)

    def spans(start: str) -> list[str]:
        return [text[s:e] for s, e in question_spans(row_, start)]

    assert spans("sentence") == ["He asked: and why not?", "Or is it so, but who knows?"]
    assert spans("without-conjunction") == ["He asked: and why not?", "is it so, but who knows?"]
    assert spans("last-clause") == ["why not?", "who knows?"]


def test_the_card_shows_the_table_and_says_when_the_data_changed(
    tmp_path: Path, results: Any, split_dir: Path
) -> None:
    path = split_dir.parent / "results.json"
    out = publish(split_dir, output=tmp_path / "dataset", results=path)
    card = (out.output / "README.md").read_text(encoding="utf-8")
    assert "## Baselines" in card and "| question-mark rule | `rhetorical_questions` |" in card
    assert f"corpus baseline {split_dir}" in card and "other data" not in card
    # How to reproduce the table from the dataset alone: the extra and the command.
    assert "pip install 'corpus-tools[baselines]'\ncorpus baseline DATASET_FOLDER" in card
    assert "| tokens-config ceiling | `attributions` |" in card
    changed = make_split_dir(tmp_path / "changed", {**corpus(), "test": corpus()["test"][:1]})
    assert "**These results were computed on other data than this dataset's**" in results_section(
        path, changed
    )
    bad = write_jsonl(tmp_path / "bad.json", [{"rows": 3}])
    with pytest.raises(CorpusToolsError, match="not a results file of `corpus baseline`"):
        publish(split_dir, output=tmp_path / "other", results=bad)


def test_the_table_needs_neither_crfsuite_nor_spacy(tmp_path: Path, results: Any, split_dir: Path) -> None:
    code = f"""
import sys
class Missing:  # as if the baselines and tokens extras were not installed
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("pycrfsuite", "spacy"):
            raise ModuleNotFoundError(name, name=name)
sys.meta_path.insert(0, Missing())
from corpus_tools.baseline import results_section, baselines
from corpus_tools.errors import CorpusToolsError
print(results_section({str(split_dir.parent / "results.json")!r}, {str(split_dir)!r}).splitlines()[0])
try:
    baselines({str(split_dir)!r})
except CorpusToolsError as e:
    print(e)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == [
        "## Baselines",
        "the baselines need python-crfsuite, which is not installed: pip install 'corpus-tools[baselines]'",
    ]


def test_a_split_without_documents_is_refused(tmp_path: Path) -> None:
    empty = make_split_dir(tmp_path / "splits", {**corpus(), "validation": []})
    with pytest.raises(CorpusToolsError, match=r"validation\.jsonl: holds no records"):
        baselines(empty)
