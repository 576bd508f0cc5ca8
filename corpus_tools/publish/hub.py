"""Pushing a published dataset to the Hugging Face Hub, in one commit, never printing the token.

The commit adds every file publish wrote (its record, `.corpus-tools.json`, lists them; the
record itself stays local) and, when it replaces a dataset (`--force`), deletes what an earlier
publish put there that this one does not write: the files the output folder's previous record
lists (an old `GUIDELINES.md`, `aliases.jsonl`), and parquet shards in publish's own layout
(`data/<config>/<split>-NNNNN-of-NNNNN.parquet`), which `datasets` would otherwise load with the
new ones. Nothing else on the Hub is touched: a file publish never wrote stays.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corpus_tools.errors import CorpusToolsError
from corpus_tools.files import written_files
from corpus_tools.publish.results import CardMetadata

_SHARD = re.compile(r"data/([^/]+)/[^/]+-\d{5}-of-\d{5}\.parquet")


@dataclass
class Hub:
    """A Hub dataset that `connect` has checked can be pushed to."""

    api: Any
    repo_id: str
    token: str
    exists: bool

    def upload(self, folder: Path, metadata: CardMetadata, *, previous: Collection[str] = ()) -> str:
        """Upload the files publish wrote in `folder`, in one commit; `previous` are the files
        the folder's record listed before this publish replaced it (see the module docstring).
        Returns the commit's URL."""
        from huggingface_hub import CommitOperationAdd, CommitOperationDelete

        from corpus_tools.publish.configs import CONFIGS

        files = sorted(written_files(folder))
        try:
            self.api.create_repo(self.repo_id, repo_type="dataset", exist_ok=True, token=self.token)
            stale: list[str] = []
            if self.exists:
                on_hub = self.api.list_repo_files(self.repo_id, repo_type="dataset", token=self.token)
                ours = set(previous)
                stale = sorted(
                    name
                    for name in on_hub
                    if name not in files
                    and (name in ours or ((m := _SHARD.fullmatch(name)) is not None and m[1] in CONFIGS))
                )
            operations: list[Any] = [
                CommitOperationAdd(path_in_repo=name, path_or_fileobj=str(folder / name)) for name in files
            ]
            operations += [CommitOperationDelete(path_in_repo=name) for name in stale]
            info = self.api.create_commit(
                self.repo_id,
                operations,
                commit_message=f"Publish {metadata.pretty_name} with corpus-tools",
                repo_type="dataset",
                token=self.token,
            )
        except Exception as e:  # network and Hub errors, reported without the token
            raise CorpusToolsError(
                f"pushing to the Hub dataset {self.repo_id} failed: "
                f"{scrub(e, self.token)} (the dataset is in {folder})"
            ) from None
        return str(getattr(info, "commit_url", info))


def connect(repo_id: str, *, token: str | None, force: bool, api: Any) -> Hub:
    """Check, before any work, that pushing to `repo_id` can succeed."""
    import huggingface_hub

    token = token or huggingface_hub.get_token()
    if not token:
        raise CorpusToolsError(
            "--push needs a Hugging Face token: set HF_TOKEN or log in with "
            "`hf auth login` (a token with write access)"
        )
    api = api if api is not None else huggingface_hub.HfApi()
    try:
        exists = bool(api.repo_exists(repo_id, repo_type="dataset", token=token))
    except Exception as e:  # offline mode, network, bad id: all mean we cannot push
        raise CorpusToolsError(f"cannot check the Hub dataset {repo_id}: {scrub(e, token)}") from None
    if exists and not force:
        raise CorpusToolsError(
            f"the Hub dataset {repo_id} already exists; pass --force to replace its contents"
        )
    return Hub(api=api, repo_id=repo_id, token=token, exists=exists)


def scrub(error: Exception, token: str) -> str:
    """The error without the token, in any case (some messages upper- or lower-case it)."""
    return re.sub(re.escape(token), "***", f"{type(error).__name__}: {error}", flags=re.IGNORECASE)
