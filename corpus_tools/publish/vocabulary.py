"""The Hub's vocabularies that a dataset card's settings must use: licence ids,
`annotations_creators` values and repository ids. A value outside them would put a card on the
Hub that the Hub does not understand (an unknown licence, a broken link), so it is refused with
the closest value it knows."""

from __future__ import annotations

import difflib
import importlib.util
import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from corpus_tools.errors import CorpusToolsError

LICENSES_URL = "https://huggingface.co/docs/hub/repositories-licenses"

LICENSES = [
    "apache-2.0",
    "mit",
    "openrail",
    "bigscience-openrail-m",
    "creativeml-openrail-m",
    "bigscience-bloom-rail-1.0",
    "bigcode-openrail-m",
    "afl-3.0",
    "artistic-2.0",
    "bsl-1.0",
    "bsd",
    "bsd-2-clause",
    "bsd-3-clause",
    "bsd-3-clause-clear",
    "c-uda",
    "cc",
    "cc0-1.0",
    "cc-by-2.0",
    "cc-by-2.5",
    "cc-by-3.0",
    "cc-by-4.0",
    "cc-by-sa-3.0",
    "cc-by-sa-4.0",
    "cc-by-nc-2.0",
    "cc-by-nc-3.0",
    "cc-by-nc-4.0",
    "cc-by-nd-4.0",
    "cc-by-nc-nd-3.0",
    "cc-by-nc-nd-4.0",
    "cc-by-nc-sa-2.0",
    "cc-by-nc-sa-3.0",
    "cc-by-nc-sa-4.0",
    "cdla-sharing-1.0",
    "cdla-permissive-1.0",
    "cdla-permissive-2.0",
    "wtfpl",
    "ecl-2.0",
    "epl-1.0",
    "epl-2.0",
    "etalab-2.0",
    "eupl-1.1",
    "eupl-1.2",
    "agpl-3.0",
    "gfdl",
    "gpl",
    "gpl-2.0",
    "gpl-3.0",
    "lgpl",
    "lgpl-2.1",
    "lgpl-3.0",
    "isc",
    "h-research",
    "intel-research",
    "lppl-1.3c",
    "ms-pl",
    "apple-ascl",
    "apple-amlr",
    "mpl-2.0",
    "odc-by",
    "odbl",
    "openmdw-1.0",
    "openmdw-1.1",
    "openrail++",
    "osl-3.0",
    "postgresql",
    "ofl-1.1",
    "ncsa",
    "unlicense",
    "zlib",
    "pddl",
    "lgpl-lr",
    "deepfloyd-if-license",
    "fair-noncommercial-research-license",
    "llama2",
    "llama3",
    "llama3.1",
    "llama3.2",
    "llama3.3",
    "llama4",
    "grok2-community",
    "gemma",
    "unknown",
    "other",
]
"""The licence ids a card's `license` may take, as the Hub lists them (`LICENSES_URL`, the table
of `docs/hub/repositories-licenses.md` in huggingface/hub-docs, 2026-08). No installed package
carries this list; add an id here when the Hub adds one."""


@cache
def annotations_creators() -> tuple[str, ...]:
    """The values of a card's `annotations_creators`, from the list the installed `datasets`
    ships (`datasets/utils/resources/creators.json`, which the Hub's dataset card spec follows):
    `found`, `crowdsourced`, `expert-generated`, `machine-generated`, `no-annotation`, `other`."""
    spec = importlib.util.find_spec("datasets")  # located, not imported: this stays light
    if spec is None or not spec.submodule_search_locations:
        raise CorpusToolsError("the `datasets` package is not installed; reinstall corpus-tools")
    path = Path(next(iter(spec.submodule_search_locations))) / "utils" / "resources" / "creators.json"
    return tuple(json.loads(path.read_text(encoding="utf-8"))["annotations"])


def check_license(value: str, field: str = "license") -> None:
    """Refuse a licence that is not one of the Hub's ids (case matters: `cc-by-4.0`).

    Raises:
        CorpusToolsError: naming `field`, the value and the closest id.
    """
    if value not in LICENSES:
        raise CorpusToolsError(
            f"{field}: {value!r} is not a licence id of the Hub{_did_you_mean(value, LICENSES)} "
            f"(the ids: {LICENSES_URL}; `other` for a licence of your own)"
        )


def check_annotations_creators(values: Iterable[str], field: str = "annotations_creators") -> None:
    """Refuse an `annotations_creators` value the Hub does not know, or an empty list.

    Raises:
        CorpusToolsError: naming `field`, the value and the closest known one.
    """
    known = annotations_creators()
    values = list(values)
    if not values:
        raise CorpusToolsError(f"{field}: give at least one of {', '.join(known)}")
    for value in values:
        if value not in known:
            raise CorpusToolsError(
                f"{field}: {value!r} is not one of the Hub's values{_did_you_mean(value, known)} "
                f"(they are: {', '.join(known)})"
            )


def check_repo_id(value: str, field: str = "repo_id") -> None:
    """Refuse a Hub repository id that `huggingface_hub` would refuse (`user/name`: letters,
    digits, `-`, `_`, `.`, no `..` or `--`, at most 96 characters a part).

    Raises:
        CorpusToolsError: naming `field`, the value and what is wrong with it.
    """
    from huggingface_hub.errors import HFValidationError

    # Public (`huggingface_hub.utils.validate_repo_id`), but exported lazily, which mypy cannot see.
    from huggingface_hub.utils import validate_repo_id  # type: ignore[attr-defined]

    try:
        validate_repo_id(value)
    except HFValidationError as e:
        raise CorpusToolsError(
            f"{field}: {value!r} is not a Hub repository id ({' '.join(str(e).split())})"
        ) from None


def _did_you_mean(value: str, known: Iterable[str]) -> str:
    known = list(known)
    folded = " ".join(value.split()).lower()
    # `CC-BY-4.0`, `cc by 4.0`; then a near miss; then a known word followed by junk (`mit\n---`).
    exact = [c for c in (folded, folded.replace(" ", "-")) if c in known]
    close = difflib.get_close_matches(folded, known, n=1, cutoff=0.75)
    words = [w for w in folded.split() if w in known]
    loose = difflib.get_close_matches(folded, known, n=1, cutoff=0.6)
    best = next(iter(exact + close + words + loose), None)
    return f"; did you mean {best!r}?" if best else ""
