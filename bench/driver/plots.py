"""PNG plots of the driver suite: rate and client CPU per operation as ratios to psycopg2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.driver import workloads as w
from bench.driver.clients import BASELINE


def plots(section: dict[str, Any], directory: Path) -> list[Path]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # the plots are optional; the JSON and Markdown are not
        return []
    rows = section["results"]
    transports = list(dict.fromkeys(r["transport"] for r in rows))
    clients = [c for c in dict.fromkeys(r["client"] for r in rows) if c != BASELINE]
    measures = [m for m in w.MEASURES if any(r["measure"] == m.key for r in rows)]
    written = []
    for kind, title, name in (
        ("rate_ratio", "rate vs psycopg2 (higher is better)", "driver_rate_ratios.png"),
        ("cpu_ratio", "client CPU per operation vs psycopg2 (lower is better)", "driver_cpu_ratios.png"),
    ):
        figure, axes = plt.subplots(
            len(transports), 1, figsize=(11, 3.6 * len(transports)), squeeze=False, sharex=True
        )
        width = 0.8 / max(1, len(clients))
        for axis, transport in zip(axes[:, 0], transports, strict=True):
            for offset, client in enumerate(clients):
                values = []
                for measure in measures:
                    row = next(
                        (
                            r
                            for r in rows
                            if (r["measure"], r["transport"], r["client"]) == (measure.key, transport, client)
                        ),
                        None,
                    )
                    values.append(row[kind] if row and row[kind] is not None else 0.0)
                positions = [i + (offset - (len(clients) - 1) / 2) * width for i in range(len(measures))]
                axis.bar(positions, values, width, label=client)
            axis.axhline(1.0, color="black", linewidth=0.8)
            axis.set_yscale("log")
            axis.set_ylabel(f"{transport.upper()}: x psycopg2")
            axis.set_xticks(range(len(measures)), [m.key for m in measures])
            axis.grid(axis="y", which="both", alpha=0.3)
        axes[0, 0].set_title(f"Driver benchmark: {title} — {section['environment']['date'][:10]}")
        axes[0, 0].legend(ncol=len(clients), fontsize="small", loc="upper left")
        figure.tight_layout()
        path = directory / name
        figure.savefig(path, dpi=100)
        plt.close(figure)
        written.append(path)
    return written
