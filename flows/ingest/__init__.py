"""exports → raw: discover files, read them with DuckDB's readers, apply the contract's
row rules in SQL, keep every version in ``raw.<entity>`` and every bad row in
``audit.quarantine``."""
