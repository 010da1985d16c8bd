"""PNG plots of the web suite: good requests per second and p99 latency against concurrency, per view."""

from __future__ import annotations

from pathlib import Path
from typing import Any

FILES = (
    ("rate", "requests/s (good answers)", "web_throughput.png"),
    ("p99_ms", "p99 latency (ms)", "web_p99.png"),
)


def plots(section: dict[str, Any], directory: Path) -> list[Path]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # the plots are optional; the JSON and Markdown are not
        return []
    rows = [r for r in section["results"] if "rate" in r]
    config = section["config"]
    views = [v for v in ("pg_sleep", "trivial") if any(r["view"] == v for r in rows)]
    if not views:
        return []
    written = []
    for key, title, name in FILES:
        figure, axes = plt.subplots(1, len(views), figsize=(6.5 * len(views), 4.8), squeeze=False)
        for axis, view in zip(axes[0], views, strict=True):
            for server in config["servers"]:
                points = sorted(
                    (r["concurrency"], r[key]) for r in rows if r["view"] == view and r["server"] == server
                )
                if not points:
                    continue
                style = "-o" if server.startswith("greenpsyco") else "--s"
                axis.plot(
                    [p[0] for p in points],
                    [p[1] for p in points],
                    style,
                    label=config["server_details"][server]["label"],
                    markersize=4,
                )
            axis.set_xscale("log")
            axis.set_yscale("log")
            axis.set_xlabel("concurrent connections (wrk)")
            axis.set_ylabel(title)
            axis.set_title(view)
            axis.grid(which="both", alpha=0.3)
        axes[0, 0].legend(fontsize="small")
        figure.suptitle(f"Web benchmark: {title} — {section['environment']['date'][:10]}")
        figure.tight_layout()
        path = directory / name
        figure.savefig(path, dpi=100)
        plt.close(figure)
        written.append(path)
    return written
