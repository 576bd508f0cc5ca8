"""Load a dataset written by `corpus publish` with plain `datasets`, offline, and summarise it.

Uses nothing from corpus-tools: this is what a researcher who downloaded the dataset runs. Ends
with the baseline table from the dataset card.

Usage: python scripts/demo_load.py out/dataset
"""

from __future__ import annotations

import os
import sys
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from datasets import disable_progress_bars, get_dataset_config_names, load_dataset


def main(path: str, cache: str) -> int:
    disable_progress_bars()  # the summary is the output; progress bars would drown it
    configs = get_dataset_config_names(path)
    print(f"{path}: configs {', '.join(configs)}")
    ds = load_dataset(path, cache_dir=cache)
    for name, split in ds.items():
        print(f"  {name:<10} {split.num_rows:>5} row(s)")
    features = ds["train"].features
    print("features:")
    for name, feature in features.items():
        print(f"  {name}: {type(feature).__name__}")
    layers = {"rhetorical_questions": "kind", "attributions": "type", "stances": "polarity"}
    for layer, label in layers.items():
        print(f"  {layer}[].{label}: {features[layer].feature[label].names}")

    row = ds["train"][0]
    text = row["text"]
    print(f"\nexample: {row['doc_id']} ({len(text)} code points), {row['meta']['license']}")
    checked = 0
    for layer, label in layers.items():
        names = features[layer].feature[label]
        for item in row[layer][:2]:
            spans = {"": item} if "start" in item else {}
            spans.update({k: item[k] for k in ("answer", "source", "cue", "content") if item.get(k)})
            for part, span in spans.items():
                assert text[span["start"] : span["end"]] == span["text"], (layer, item["id"], part)
                checked += 1
            shown = item.get("text") or item["content"]["text"]
            print(f"  {layer} {item['id']} [{names.int2str(item[label])}]: {shown[:70]!r}")
    print(f"  {checked} span(s) round-tripped: text[start:end] == span text")

    if "annotators" in configs:
        raw = load_dataset(path, "annotators", cache_dir=cache)
        by = {}
        for split in raw.values():
            for name in split["annotator"]:
                by[name] = by.get(name, 0) + 1
        print(
            f"annotators config: {sum(s.num_rows for s in raw.values())} lines, split like gold "
            f"({', '.join(f'{n} {s.num_rows}' for n, s in raw.items())}); "
            + ", ".join(f"{a} {n}" for a, n in sorted(by.items()))
        )
    print(
        f"gold rows: passes {sorted(set(ds['train']['passes']))}, adjudicated {sorted(set(ds['train']['adjudicated']), key=str)}"
    )
    if "conflicts" in configs:
        log = load_dataset(path, "conflicts", cache_dir=cache)
        rows = [r for split in log.values() for r in split]
        kinds = {}
        for r in rows:
            kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
        print(
            f"conflicts config: {len(rows)} lines of the adjudication log: "
            + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
        )
    if "spans" in configs:
        flat = load_dataset(path, "spans", split="train", cache_dir=cache).to_pandas()
        print("spans config (train), spans per layer and label:")
        print(flat.groupby(["layer", "label"]).size().to_string())
    if "tokens" in configs:
        show_tokens(load_dataset(path, "tokens", split="train", cache_dir=cache))
    print_baselines(os.path.join(path, "README.md"))
    return 0


def show_tokens(tokens) -> None:
    """The tokens config: its tag names, and one tagged span read back from its tokens."""
    print(f"\ntokens config: {tokens.num_rows} row(s) (documents) in train")
    columns = [c for c in tokens.column_names if c.endswith("_tags")]
    for column in columns:
        print(f"  {column}: {tokens.features[column].feature.names}")
    row = tokens[0]
    names = tokens.features["stances_tags"].feature
    tags = [names.int2str(t) for t in row["stances_tags"]]
    first = next(i for i, t in enumerate(tags) if t.startswith("B-"))
    last = first
    while last + 1 < len(tags) and tags[last + 1] == "I-" + tags[first][2:]:
        last += 1
    start, end = row["token_starts"][first], row["token_ends"][last]
    print(
        f"  {row['doc_id']}: tokens {first}..{last} are {tags[first][2:]} stance {row['text'][start:end]!r}"
    )


def print_baselines(card: str) -> None:
    """The card's baseline section: the results table, as the dataset's users see it."""
    with open(card, encoding="utf-8") as f:
        text = f.read()
    start = text.find("\n## Baselines\n")
    if start < 0:
        print("\nthe card has no baseline table (run `make baselines`)")
        return
    end = text.find("\n## ", start + 1)
    print(text[start : end if end >= 0 else None].rstrip())


if __name__ == "__main__":
    # A throw-away cache keeps the demo from filling ~/.cache; drop cache_dir in real use.
    with tempfile.TemporaryDirectory() as cache_dir:
        sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "out/dataset", cache_dir))
