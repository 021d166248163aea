-- Request capture is opt-in per key: 1 saves the key's prompts and completions for export as a dataset.
ALTER TABLE api_keys ADD COLUMN capture INTEGER NOT NULL DEFAULT 0;
