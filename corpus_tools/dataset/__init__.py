"""Reading a published dataset: the folder `corpus publish` writes, or any of its parquet files.

A published dataset is a Hugging Face dataset repository: `README.md` (the dataset card, whose
YAML header names each config's data files per split and, in `dataset_info`, its features and
the rows of each split), `splits.json` (the split manifest), parquet files under `data/`, and
`aliases.jsonl` (the stance targets' alias file) when the corpus has one. Every command that
reads records accepts one wherever it accepts JSONL (validate, merge, agreement, split, export,
evaluate, view), and a parquet file named directly too:

- `is_dataset(path)` says whether a folder is one: its card declares a config of records
  (`default` or `annotators`, with their features). Any other folder is a folder of JSONL
  files, whatever its README holds;
- `open_dataset(path)` reads the card and checks the folder against it, as `datasets` would
  refuse it: every config and split the card declares has its shards, named
  `<split>-NNNNN-of-MMMMM.parquet` with every index of the M present, holding the rows the card
  declares, with the columns of that config's features (a shard of another config is named as
  such), its own `datasets` metadata (if any) agreeing with the card, every file inside the
  folder (a symlink out of it is refused), and `splits.json` placing as many documents in each
  split as gold has. Any mismatch is a `CorpusToolsError` naming the file, what the card says
  and what was found;
- `iter_rows(file)` streams the rows of one parquet file as dicts, `ClassLabel` indices turned
  back into label names: with the card's features for a shard of a dataset (as `datasets` decodes
  them), with the file's own metadata for a parquet file named on its own;
- `record_inputs(paths, configs=...)` turns the paths a command was given into JSONL files to
  read: JSONL files as they are, and each parquet file of the record configs (`default`, gold;
  `annotators`, the raw passes) converted, row by row, into a temporary JSONL file whose line N
  is row N - 1. The commands then read them exactly as they read JSONL, so they report the same
  figures, and `Inputs.where` names the parquet file and row of a line in every message. A row
  of a dataset's shard whose document `splits.json` puts in another split is refused (a test
  document must never be read as train). A value a record cannot hold (bytes that are not UTF-8,
  a decimal, a date) is an error naming the file, row and column; bytes that are UTF-8 are read
  as the text they are, as `datasets` casts a binary column to the string the card declares.

Which configs a dataset folder gives depends on the command: `corpus validate` and `corpus
export` read both record configs, `corpus agreement` and `corpus merge` the `annotators`
config (the passes), `corpus split`, `agreement --gold` and `corpus evaluate` the `default`
config (gold). A parquet file named directly is read whatever its config.

The package: `layout.py` (the configs, file names and shard names), `features.py` (the configs'
features as the card and the files describe them), `folder.py` (`is_dataset`, `open_dataset` and
its checks), `rows.py` (`iter_rows`, `record_inputs`, the conversion).

Rows are numbered from 0, as `datasets`, pandas, pyarrow and DuckDB (`file_row_number`) number
them. Memory stays flat: parquet is read a batch of rows at a time and written out at once. The
converted files live in a private folder of the system's temporary folder, named with the process
id (`files.scratch_folder`), so that a run killed with SIGKILL leaves nothing the next one does not
remove.
"""

from corpus_tools.dataset.features import Feature
from corpus_tools.dataset.folder import PublishedDataset, Shard, is_dataset, open_dataset
from corpus_tools.dataset.layout import (
    ALIASES_NAME,
    ANNOTATORS_CONFIG,
    CARD_NAME,
    CONFLICTS_CONFIG,
    DATA_SUFFIX,
    DEFAULT_CONFIG,
    DOCUMENT_COLUMNS,
    MANIFEST_FILE,
    RECORD_COLUMNS,
    RECORD_CONFIGS,
    SPANS_CONFIG,
    TOKENS_CONFIG,
    data_pattern,
    layout_name,
)
from corpus_tools.dataset.rows import Inputs, Location, iter_rows, record_inputs

__all__ = [
    "ALIASES_NAME",
    "ANNOTATORS_CONFIG",
    "CARD_NAME",
    "CONFLICTS_CONFIG",
    "DATA_SUFFIX",
    "DEFAULT_CONFIG",
    "DOCUMENT_COLUMNS",
    "MANIFEST_FILE",
    "RECORD_COLUMNS",
    "RECORD_CONFIGS",
    "SPANS_CONFIG",
    "TOKENS_CONFIG",
    "Feature",
    "Inputs",
    "Location",
    "PublishedDataset",
    "Shard",
    "data_pattern",
    "is_dataset",
    "iter_rows",
    "layout_name",
    "open_dataset",
    "record_inputs",
]
