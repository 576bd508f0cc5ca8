"""Pushing a published dataset to the Hugging Face Hub, in one commit, never printing the token."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corpus_tools.errors import CorpusToolsError
from corpus_tools.files import RECORD_NAME
from corpus_tools.publish.results import CardMetadata


@dataclass
class Hub:
    """A Hub dataset that `connect` has checked can be pushed to."""

    api: Any
    repo_id: str
    token: str
    exists: bool

    def upload(self, folder: Path, metadata: CardMetadata) -> str:
        try:
            self.api.create_repo(self.repo_id, repo_type="dataset", exist_ok=True, token=self.token)
            info = self.api.upload_folder(
                repo_id=self.repo_id,
                folder_path=str(folder),
                repo_type="dataset",
                token=self.token,
                commit_message=f"Publish {metadata.pretty_name} with corpus-tools",
                # Replacing a dataset: drop old parquet shards that the new upload does not have.
                delete_patterns=["data/**"] if self.exists else None,
                ignore_patterns=[RECORD_NAME],
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
