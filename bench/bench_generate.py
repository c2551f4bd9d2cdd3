"""Benchmark of the sample-data generator: is it linear, and is memory flat?

Runs each configuration in its own process (so peak RSS is that run's) and prints rows,
wall and CPU seconds, rows per CPU second, peak RSS and the ratios against the first
configuration. Linear generation shows as a rate ratio near 1 (or above: fixed costs
weigh less) while rows grow; streaming shows as a peak RSS that barely moves. Rates use
CPU time, which other processes on a shared machine disturb far less than wall time.
Timings are printed, never asserted.

    .venv/bin/python bench/bench_generate.py                 # 5×90 vs 10×180
    .venv/bin/python bench/bench_generate.py 5x90 10x180 20x360
    .venv/bin/python bench/bench_generate.py 50x1095 50x1095*4   # the large run, scale 1 and 4
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def child(sites: int, days: int, scale: float) -> None:
    sys.path.insert(0, str(ROOT))
    from flows.generate import generate_exports

    with tempfile.TemporaryDirectory() as tmp:
        # warm-up (imports, first allocations, lazy tables) so the timing is the run's
        generate_exports(Path(tmp) / "warm-up", seed=1, sites=1, days=3)
        started, cpu_started = time.perf_counter(), time.process_time()
        report = generate_exports(Path(tmp) / "exports", seed=42, sites=sites, days=days,
                                  scale=scale)
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        size = sum(p.stat().st_size for p in (Path(tmp) / "exports").rglob("*") if p.is_file())
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"sites": sites, "days": days, "scale": scale, "rows": report.total_rows,
                      "files": len(report.files), "seconds": seconds, "cpu": cpu,
                      "peak_rss_mib": peak_kib / 1024, "bytes": size}))


def main(configs: list[str]) -> None:
    results = []
    for config in configs:
        size, _, scale = config.partition("*")
        sites, days = (int(x) for x in size.lower().split("x"))
        out = subprocess.run([sys.executable, __file__, "--child", str(sites), str(days),
                              scale or "1"],
                             check=True, capture_output=True, text=True).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
    base = results[0]
    base_rate = base["rows"] / base["cpu"]
    print(f"{'sites×days*scale':>16} {'rows':>11} {'files':>6} {'MB':>8} {'wall s':>7} "
          f"{'cpu s':>7} {'rows/cpu s':>11} {'rows ×':>7} {'cpu ×':>7} {'rate ×':>7} "
          f"{'peak RSS MiB':>13}")
    for r in results:
        rate = r["rows"] / r["cpu"]
        label = f"{r['sites']}×{r['days']}*{r['scale']:g}"
        print(f"{label:>16} {r['rows']:>11,} {r['files']:>6} {r['bytes'] / 1e6:>8.1f} "
              f"{r['seconds']:>7.2f} {r['cpu']:>7.2f} {rate:>11,.0f} "
              f"{r['rows'] / base['rows']:>7.2f} {r['cpu'] / base['cpu']:>7.2f} "
              f"{rate / base_rate:>7.2f} {r['peak_rss_mib']:>13.0f}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
    else:
        main(sys.argv[1:] or ["5x90", "10x180"])
