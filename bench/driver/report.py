"""The driver suite's summary: medians and ratios to psycopg2, the issue's targets, Markdown tables."""

from __future__ import annotations

from typing import Any

from bench.driver import workloads as w
from bench.driver.clients import BASELINE
from bench.driver.runner import Collected
from bench.timing import median_cpu_us, median_rate

BLOCKING = "greenpsyco"
COOPERATIVE = "greenpsyco coop"

# (measure, "rate" or "cpu", comparison, limit): greenpsyco (blocking) against psycopg2 (issue 8).
TARGETS: tuple[tuple[str, str, str, float], ...] = (
    ("select1", "cpu", "<=", 1.3),
    ("params", "cpu", "<=", 1.5),
    ("fetch", "cpu", "<=", 3.0),
    ("select1", "rate", ">=", 0.9),
    ("params", "rate", ">=", 0.8),
    ("fetch", "rate", ">=", 0.35),
    ("connect", "rate", ">=", 1.0),
    ("executemany", "rate", ">=", 3.0),
)
COOPERATIVE_LIMIT = 0.7


def summarise(collected: Collected) -> list[dict[str, Any]]:
    units = {measure.key: measure.unit for measure in w.MEASURES}
    rows = []
    for (measure, transport, client), samples in collected.samples.items():
        rows.append(
            {
                "measure": measure,
                "transport": transport,
                "client": client,
                "unit": units[measure],
                "rate": median_rate(samples),
                "cpu_us": median_cpu_us(samples),
                "rate_best": max(sample.rate for sample in samples),
                "cpu_us_best": min(sample.cpu_us for sample in samples),
                "samples": [[s.ops, round(s.wall, 6), round(s.cpu, 6)] for s in samples],
            }
        )
    index = {(r["measure"], r["transport"], r["client"]): r for r in rows}
    for row in rows:
        base = index.get((row["measure"], row["transport"], BASELINE))
        row["rate_ratio"] = row["rate"] / base["rate"] if base else None
        row["cpu_ratio"] = row["cpu_us"] / base["cpu_us"] if base and base["cpu_us"] else None
        # The best sample of each (highest rate, least CPU): what the machine's quiet moments show.
        row["rate_best_ratio"] = row["rate_best"] / base["rate_best"] if base else None
        least = base["cpu_us_best"] if base else 0
        row["cpu_best_ratio"] = row["cpu_us_best"] / least if least else None
    return rows


def targets(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    index = {(r["measure"], r["transport"], r["client"]): r for r in rows}
    transports = sorted({r["transport"] for r in rows})
    checks = []
    for transport in transports:
        for measure, kind, op, limit in TARGETS:
            row = index.get((measure, transport, BLOCKING))
            if row is None or row[f"{kind}_ratio"] is None:
                continue
            value = row[f"{kind}_ratio"]
            best = row[f"{kind}_best_ratio"]
            holds = value <= limit if op == "<=" else value >= limit
            what = "client CPU per op" if kind == "cpu" else "rate"
            checks.append(
                {
                    "transport": transport,
                    "target": f"{measure} {what} vs psycopg2 {op} {limit}x",
                    "value": value,
                    "best": best,
                    "holds": holds,
                }
            )
        for measure in w.MEASURE_KEYS:
            blocking = index.get((measure, transport, BLOCKING))
            coop = index.get((measure, transport, COOPERATIVE))
            if blocking is None or coop is None:
                continue
            value = coop["rate"] / blocking["rate"]
            checks.append(
                {
                    "transport": transport,
                    "target": f"{measure} cooperative rate vs blocking >= {COOPERATIVE_LIMIT}x",
                    "value": value,
                    "best": coop["rate_best"] / blocking["rate_best"],
                    "holds": value >= COOPERATIVE_LIMIT,
                }
            )
    return checks


def _rate(value: float) -> str:
    if value >= 10000:
        return f"{value / 1000:,.0f}k"
    if value >= 1000:
        return f"{value / 1000:.1f}k"
    return f"{value:.0f}"


def markdown(section: dict[str, Any]) -> str:
    env = section["environment"]
    machine = env["machine"]
    versions = ", ".join(f"{name} {version}" for name, version in env["versions"].items())
    config = section["config"]
    lines = [
        "## Driver benchmark\n",
        f"{env['date']}; {machine['cores']} cores ({machine['cpu']}), {machine['system']}, "
        f"{machine['python']}; PostgreSQL {env['postgresql']}; {versions}.\n",
        f"Medians of {config['rounds']} alternating rounds (COPY: {config['copy_rounds']}); "
        "rate = operations per second, CPU = client CPU (user+sys of the benchmark process) per "
        f"operation; ratios are to psycopg2 in the same run. {config['cooperative']} "
        f"Placement: {config.get('placement', 'no CPU pinning')}.\n",
    ]
    rows = section["results"]
    clients = list(dict.fromkeys(r["client"] for r in rows))
    for transport in dict.fromkeys(r["transport"] for r in rows):
        lines.append(f"### {transport.upper()}\n")
        lines.append("| measure | " + " | ".join(clients) + " |")
        lines.append("|---|" + "---|" * len(clients))
        for measure in w.MEASURES:
            cells = []
            for client in clients:
                row = next(
                    (
                        r
                        for r in rows
                        if (r["measure"], r["transport"], r["client"]) == (measure.key, transport, client)
                    ),
                    None,
                )
                if row is None:
                    cells.append("-")
                    continue
                cell = f"{_rate(row['rate'])}/s, {row['cpu_us']:.2f} µs"
                if client != BASELINE and row["rate_ratio"] is not None:
                    cell += f" ({row['rate_ratio']:.2f}x, CPU {row['cpu_ratio']:.2f}x)"
                cells.append(cell)
            if any(cell != "-" for cell in cells):
                lines.append(f"| {measure.title} (per {measure.unit}) | " + " | ".join(cells) + " |")
        lines.append("")
    lines.append("### Targets (greenpsyco against psycopg2; cooperative against blocking)\n")
    lines.append(
        'Measured on the medians; "best samples" compares each client\'s best sample (highest rate, '
        "least CPU), what the shared machine's quiet moments show.\n"
    )
    lines.append("| transport | target | measured (medians) | holds | best samples |")
    lines.append("|---|---|---|---|---|")
    for check in section["targets"]:
        mark = "yes" if check["holds"] else "**no**"
        best = f"{check['best']:.2f}x" if check.get("best") is not None else "-"
        lines.append(
            f"| {check['transport']} | {check['target']} | {check['value']:.2f}x | {mark} | {best} |"
        )
    lines.append("")
    return "\n".join(lines)
