"""The state folder doesn't grow without bound: only the newest gate pages are kept."""

from __future__ import annotations

from pathlib import Path

from flows.refresh import prune_quality_reports


def test_only_the_newest_quality_reports_are_kept(tmp_path: Path) -> None:
    runs = [f"2026010{d}T0{h}0000Z-abc{d}{h}" for d in range(1, 6) for h in range(5)]  # 25, in time order
    for run in reversed(runs):
        (tmp_path / run).mkdir()
        (tmp_path / run / "index.html").write_text(run)
    prune_quality_reports(tmp_path, keep=20)
    assert sorted(p.name for p in tmp_path.iterdir()) == runs[5:]
