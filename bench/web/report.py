"""The web suite's summary: medians over rounds, the issue's targets, and the Markdown tables.

Per (view, server, concurrency): the median over rounds of good requests per second and of the p50 and
p99 latencies; errors and requests summed over rounds (a target of zero errors means none in any round);
the highest peak of PostgreSQL sessions and of server memory (all processes: supervisor and workers);
the median server CPU (user+sys of all its processes) per answered request, the fairer figure on a
shared machine.
"""

from __future__ import annotations

import statistics
from typing import Any

from bench.web.servers import BY_NAME

PG_SLEEP_CONCURRENCY = 500
HIGH_CONCURRENCY = 2000
PERSISTENT_GTHREAD = "gthread-persistent"
BEST_GUNICORN = ("sync", "sync-persistent", "gthread", "gthread-persistent", "gevent")
TWO_WORKER_GREENPSYCO = "greenpsyco-2x10"
# (greenpsyco server, ratio to gthread 2x8 with persistent connections) for the pg_sleep view (issue 8).
PG_SLEEP_TARGETS = (("greenpsyco-1x16", 1.0), ("greenpsyco-1x50", 2.5))


def summarise(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for row in raw:
        groups.setdefault((row["view"], row["server"], row["concurrency"]), []).append(row)
    rows = []
    for (view, server, concurrency), samples in groups.items():
        done = [s for s in samples if "failed" not in s]
        summary: dict[str, Any] = {
            "view": view,
            "server": server,
            "concurrency": concurrency,
            "rounds": len(done),
            "failed": len(samples) - len(done),
        }
        if done:
            summary.update(
                rate=statistics.median(s["rate"] for s in done),
                p50_ms=statistics.median(s["p50_ms"] for s in done),
                p99_ms=statistics.median(s["p99_ms"] for s in done),
                requests=sum(s["requests"] for s in done),
                errors=sum(s["errors"] for s in done),
                error_kinds={
                    kind: sum(s[kind] for s in done)
                    for kind in ("connect", "read", "write", "status", "timeout")
                },
                peak_sessions=max(s["peak_sessions"] for s in done),
                peak_rss_mib=max(s["peak_rss_mib"] for s in done),
                cpu_us_per_request=statistics.median(s.get("cpu_us_per_request") or 0.0 for s in done),
                rates=[round(s["rate"], 1) for s in done],
            )
        rows.append(summary)
    return rows


def _find(rows: list[dict[str, Any]], view: str, server: str, concurrency: int) -> dict[str, Any] | None:
    for row in rows:
        if (row["view"], row["server"], row["concurrency"]) == (view, server, concurrency) and "rate" in row:
            return row
    return None


def targets(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue's web targets that this run's servers and concurrencies allow checking."""
    checks: list[dict[str, Any]] = []
    base = _find(rows, "pg_sleep", PERSISTENT_GTHREAD, PG_SLEEP_CONCURRENCY)
    for server, limit in PG_SLEEP_TARGETS:
        row = _find(rows, "pg_sleep", server, PG_SLEEP_CONCURRENCY)
        if row is not None and base is not None and base["rate"] > 0:
            ratio = row["rate"] / base["rate"]
            checks.append(
                {
                    "target": f"pg_sleep c={PG_SLEEP_CONCURRENCY}: {BY_NAME[server].label} >= {limit}x "
                    f"{BY_NAME[PERSISTENT_GTHREAD].label}, zero errors",
                    "measured": f"{ratio:.2f}x ({row['rate']:.0f} vs {base['rate']:.0f} req/s), "
                    f"{row['errors']} errors",
                    "holds": ratio >= limit and row["errors"] == 0,
                }
            )
        high = _find(rows, "pg_sleep", server, HIGH_CONCURRENCY)
        if high is not None:
            checks.append(
                {
                    "target": f"pg_sleep c={HIGH_CONCURRENCY}: {BY_NAME[server].label}, zero errors, "
                    "bounded memory",
                    "measured": f"{high['errors']} errors, peak RSS {high['peak_rss_mib']:.0f} MiB, "
                    f"{high['peak_sessions']} sessions",
                    "holds": high["errors"] == 0,
                }
            )
    concurrencies = sorted({r["concurrency"] for r in rows if r["view"] == "trivial"})
    best_green, best_peer = 0.0, ("", 0.0)
    for concurrency in concurrencies:
        green = _find(rows, "trivial", TWO_WORKER_GREENPSYCO, concurrency)
        peers = [p for p in (_find(rows, "trivial", name, concurrency) for name in BEST_GUNICORN) if p]
        if green is None or not peers:
            continue
        peer = max(peers, key=lambda p: p["rate"])
        best_green = max(best_green, green["rate"])
        if peer["rate"] > best_peer[1]:
            best_peer = (peer["server"], peer["rate"])
        ratio = green["rate"] / peer["rate"] if peer["rate"] else 0.0
        checks.append(
            {
                "target": f"trivial c={concurrency}: {BY_NAME[TWO_WORKER_GREENPSYCO].label} >= 1.0x the best "
                "two-worker gunicorn",
                "measured": f"{ratio:.2f}x ({green['rate']:.0f} vs {BY_NAME[peer['server']].label} "
                f"{peer['rate']:.0f} req/s)",
                "holds": ratio >= 1.0,
            }
        )
    if best_peer[1] > 0:
        ratio = best_green / best_peer[1]
        checks.append(
            {
                "target": "trivial, best rate at any concurrency: greenpsyco 2 workers >= 1.0x the best "
                "two-worker gunicorn",
                "measured": f"{ratio:.2f}x ({best_green:.0f} vs {BY_NAME[best_peer[0]].label} "
                f"{best_peer[1]:.0f} req/s)",
                "holds": ratio >= 1.0,
            }
        )
    return checks


def _ms(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def markdown(section: dict[str, Any]) -> str:
    env = section["environment"]
    machine = env["machine"]
    config = section["config"]
    versions = ", ".join(f"{name} {version}" for name, version in env["versions"].items())
    lines = [
        "## Web benchmark\n",
        f"{env['date']}; {machine['cores']} cores ({machine['cpu']}), {machine['system']}, "
        f"{machine['python']}; PostgreSQL {env['postgresql']} (max_connections "
        f"{config['max_connections']}); {versions}.\n",
        f"Load generator: {config['load_generator']}. Each measurement: a fresh server, warm-up, then "
        f"{config['duration']:g} s of load; medians of {config['rounds']} rounds with the servers' order "
        "rotating (A B C, B C A). req/s counts good (2xx) answers; latencies are of completed requests; "
        "errors (summed over rounds) are connect/read/write errors, timeouts and non-2xx answers; "
        "sessions = peak PostgreSQL sessions of the server; RSS = peak resident memory of all its "
        "processes; CPU = server CPU (user+sys, all its processes) per answered request. The load "
        "generator, PostgreSQL and the server share the machine's cores.\n",
        "| server | command | CONN_MAX_AGE |",
        "|---|---|---|",
    ]
    for name in config["servers"]:
        server = config["server_details"][name]
        lines.append(f"| {server['label']} | `{server['command']}` | {server['conn_max_age']} |")
    lines.append("")
    rows = section["results"]
    for view, title in (
        ("pg_sleep", "`SELECT pg_sleep(0.05)` then one query"),
        ("trivial", "trivial: one `SELECT 1`"),
    ):
        view_rows = [r for r in rows if r["view"] == view]
        if not view_rows:
            continue
        lines.append(f"### {title}\n")
        lines.append(
            "| concurrency | server | req/s | p50 ms | p99 ms | errors | sessions | RSS MiB | CPU µs/req |"
        )
        lines.append("|---|---|---|---|---|---|---|---|---|")
        order = {name: index for index, name in enumerate(config["servers"])}
        for row in sorted(view_rows, key=lambda r: (r["concurrency"], order.get(r["server"], 99))):
            label = config["server_details"][row["server"]]["label"]
            if "rate" not in row:
                lines.append(f"| {row['concurrency']} | {label} | failed | | | | | | |")
                continue
            lines.append(
                f"| {row['concurrency']} | {label} | {row['rate']:,.0f} | {_ms(row['p50_ms'])} | "
                f"{_ms(row['p99_ms'])} | {row['errors']:,} | {row['peak_sessions']} | "
                f"{row['peak_rss_mib']:,.0f} | {row['cpu_us_per_request']:,.0f} |"
            )
        lines.append("")
    lines.append("### Targets (issue 8, web)\n")
    lines.append("| target | measured | holds |")
    lines.append("|---|---|---|")
    for check in section["targets"]:
        lines.append(f"| {check['target']} | {check['measured']} | {'yes' if check['holds'] else '**no**'} |")
    lines.append("")
    return "\n".join(lines)
