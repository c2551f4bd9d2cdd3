"""The dbt project's documentation as one static page (``dbt docs generate --static``).

``static_index.html`` embeds the manifest and the catalog, so it opens from disk without
``dbt docs serve``. It is generated against a database no other process writes (the
committed working state after a publish) and kept in the state folder; the report step
copies it next to the KPI report (flows/report/dbt_docs.py makes it work offline).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from flows.build.dbt import invoke_dbt


class DbtDocsError(RuntimeError):
    """``dbt docs generate`` wrote no page."""


def generate_docs(database: Path, as_of: date, artifacts_dir: Path,
                  project_dir: Path | None = None) -> Path:
    """Generate the docs of ``database``; return the static page (in ``artifacts_dir``)."""
    invoke_dbt(["docs", "generate", "--static", "--no-send-anonymous-usage-stats"],
               database, Path(artifacts_dir), as_of=as_of, project_dir=project_dir)
    page = Path(artifacts_dir).resolve() / "target" / "static_index.html"
    if not page.is_file():
        raise DbtDocsError(f"dbt docs generate wrote no static page ({page})")
    return page
