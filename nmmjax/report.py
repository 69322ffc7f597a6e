"""A static HTML page of every experiment's results: ``results/index.html``.

    python -m nmmjax.report [--results results] [--benchmarks benchmarks/out]

For each experiment under ``results/<experiment>/<run-id>/`` (finished runs:
those with ``metrics.json``) the page shows the newest run's key metrics, the
command that made it, and its figures, plus a table of all its runs side by
side; an overview table on top compares the experiments, and the benchmark
ratios (``benchmarks/out/*.json``) close the page. Everything is relative
links into the results folder: the page moves with it, and needs no server.
"""

from __future__ import annotations

import argparse
import datetime
import html
import json
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nmmjax import io

_N_KEY = 6  # metrics shown when an experiment names none


@dataclass
class Run:
    """One finished run: its folder, config.json and metrics.json."""

    path: Path
    config: dict
    metrics: dict
    figures: list[str] = field(default_factory=list)

    @property
    def started(self) -> str:
        return self.config.get("started") or datetime.datetime.fromtimestamp(
            (self.path / "metrics.json").stat().st_mtime, datetime.timezone.utc
        ).isoformat(timespec="seconds")

    def get(self, name: str) -> Any:
        """A metric by name; ``a.b`` reaches into nested dicts (None if absent)."""
        v: Any = self.metrics
        for part in name.split("."):
            if not isinstance(v, dict) or part not in v:
                return None
            v = v[part]
        return v

    @property
    def captions(self) -> dict:
        """``{figure: caption}`` from the run's ``captions.json`` (may be absent)."""
        path = self.path / CAPTIONS
        try:
            c = io.load_json(path) if path.is_file() else {}
        except (OSError, ValueError):
            return {}
        return c if isinstance(c, dict) else {}

    @property
    def warnings(self) -> list[str]:
        """The run's caveats (``metrics["warnings"]``: not converged, ...)."""
        w = self.metrics.get(WARNINGS) or []
        return [str(x) for x in w] if isinstance(w, list) else [str(w)]

    def key_metrics(self) -> list[str]:
        named = [k for k in self.config.get("key_metrics", []) if self.get(k) is not None]
        if named:
            return named
        return [k for k, v in self.metrics.items() if _is_scalar(v) and k != "wall_s"][:_N_KEY]


#: a run's figure captions, ``{figure name: caption}`` (written by the experiments' runner)
CAPTIONS = "captions.json"
#: the metrics key of a run's caveats, a list of sentences (not converged, not learned)
WARNINGS = "warnings"


def _badge(r: Run) -> str:
    """A visible mark on a run with caveats (not converged, not learned)."""
    n = len(r.warnings)
    return "" if not n else (f' <span class=badge title="{_e("; ".join(r.warnings))}">'
                             f'&#9888; {n} warning{"s" if n > 1 else ""}</span>')


def _is_scalar(v: Any) -> bool:
    return v is None or isinstance(v, bool | int | float | str) and len(str(v)) <= 40


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list) and len(v) <= 8 and all(isinstance(x, int | float) for x in v):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    if isinstance(v, dict) and len(v) <= 6 and all(
            isinstance(x, int | float | str) for x in v.values()):
        return "{" + ", ".join(f"{k}: {_fmt(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list | dict):
        text = json.dumps(v)
        return text if len(text) <= 60 else text[:57] + "..."
    return "–" if v is None else str(v)


def find_runs(results: str | Path) -> dict[str, list[Run]]:
    """``{experiment: [runs, newest first]}`` of the finished runs under ``results``."""
    results = Path(results)
    if not results.is_dir():
        raise ValueError(f"`results` must be a results folder, got {str(results)!r} "
                         "(run an experiment first: python -m experiments.jr_column --quick).")
    out: dict[str, list[Run]] = {}
    for exp in sorted(p for p in results.iterdir() if p.is_dir() and not p.name.startswith(".")):
        runs = []
        for r in exp.iterdir():
            if r.name.startswith(".") or not (r / "metrics.json").is_file():
                continue  # unfinished (.partial) or not a run
            cfg = io.load_json(r / "config.json") if (r / "config.json").is_file() else {}
            runs.append(Run(r, cfg, io.load_json(r / "metrics.json"),
                            sorted(p.stem for p in r.glob("*.png"))))
        if runs:
            out[exp.name] = sorted(runs, key=lambda r: r.started, reverse=True)
    return out


def load_benchmarks(folder: str | Path | None) -> list[dict]:
    """Every benchmark JSON of ``folder`` (``benchmarks/out``), sorted by name; ``[]`` if there
    is none."""
    if folder is None or not Path(folder).is_dir():
        return []
    return [io.load_json(p) for p in sorted(Path(folder).glob("*.json"))]


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:0 auto;max-width:1400px;
padding:1em 2em;color:#222;background:#fafafa}
h1{margin-bottom:.2em} h2{margin-top:2em;border-bottom:2px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em;background:#fff}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f0f0f0} td.num{text-align:right;font-variant-numeric:tabular-nums}
code,pre{background:#f0f0f0;padding:.15em .3em;border-radius:3px;font-size:.85em}
pre{padding:.5em;overflow-x:auto;white-space:pre-wrap}
.figs{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:1em}
figure{margin:0;background:#fff;border:1px solid #ddd;padding:.4em}
figure img{width:100%;height:auto} figcaption{font-size:.85em;color:#555}
.muted{color:#777;font-size:.85em} .nw{white-space:nowrap} .scroll{overflow-x:auto}
.badge{background:#c62828;color:#fff;border-radius:3px;padding:.05em .4em;font-size:.8em;
margin-left:.4em;white-space:nowrap}
ul.warn{background:#fdecea;border-left:4px solid #c62828;padding:.5em .5em .5em 2em}
"""

# Marks how many figures loaded, so a headless browser can check the page.
_JS = """
window.addEventListener('load', () => {
  const imgs = [...document.images];
  const ok = imgs.filter(i => i.complete && i.naturalWidth > 0).length;
  document.body.dataset.images = ok + '/' + imgs.length;
});
"""


def _e(x: Any) -> str:
    return html.escape(str(x))


def _run_table(runs: list[Run], keys: list[str], link: Path) -> str:
    head = "".join(f"<th>{_e(k)}</th>" for k in keys)
    rows = []
    for r in runs:
        cells = "".join(f'<td class="num">{_e(_fmt(r.get(k)))}</td>' for k in keys)
        rel = r.path.relative_to(link)
        rows.append(f'<tr><td class=nw><a href="{_e(rel.as_posix())}/metrics.json">'
                    f'{_e(r.path.name)}</a></td><td class=nw>{_e(r.started)}</td>'
                    f'<td class="num">{_e(_fmt(r.metrics.get("wall_s")))}</td>{cells}</tr>')
    return (f"<div class=scroll><table><tr><th>run</th><th>started (UTC)</th><th>wall s</th>"
            f"{head}</tr>" + "".join(rows) + "</table></div>")


def _benchmark_table(benchmarks: list[dict]) -> str:
    rows = []
    for b in benchmarks:
        ratios = b.get("ratios") or ({b["reference"]: b["ratio"]} if "ratio" in b else {})
        for ref, ratio in ratios.items():
            rows.append(
                f"<tr><td>{_e(b.get('benchmark'))}</td><td>{_e(ref)}</td>"
                f'<td class="num">{_e(_fmt(ratio))}</td>'
                f"<td>{_e(b.get('machine', {}).get('date', ''))}</td></tr>")
    return ("<table><tr><th>benchmark</th><th>reference</th><th>time ratio ours / reference"
            "</th><th>measured</th></tr>" + "".join(rows) + "</table>")


def render(runs: dict[str, list[Run]], root: Path, benchmarks: list[dict] = ()) -> str:
    """The page as a string; links are relative to ``root`` (where it is saved)."""
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    parts = [f"<!doctype html><html lang=en><head><meta charset=utf-8>"
             f"<title>nmmjax results</title><style>{_CSS}</style><script>{_JS}</script>"
             f"</head><body><h1>nmmjax results</h1><p class=muted>{len(runs)} experiments, "
             f"built {now} on {_e(platform.node())} ({_e(platform.machine())}). Figures link "
             "to their PDF; run names link to their metrics.json.</p>"]
    parts.append("<h2 id=overview>Overview (newest run of each experiment)</h2><table>"
                 "<tr><th>experiment</th><th>run</th><th>wall s</th><th>key metrics</th></tr>")
    for name, rs in runs.items():
        r = rs[0]
        km = "; ".join(f"{k} = {_fmt(r.get(k))}" for k in r.key_metrics())
        parts.append(f'<tr><td class=nw><a href="#{_e(name)}">{_e(name)}</a></td><td class=nw>'
                     f'{_e(r.path.name)}{_badge(r)}</td><td class="num nw">'
                     f'{_e(_fmt(r.metrics.get("wall_s")))}</td><td>{_e(km)}</td></tr>')
    parts.append("</table>")
    for name, rs in runs.items():
        r = rs[0]
        keys = r.key_metrics()
        parts.append(f"<h2 id={_e(name)}>{_e(name)}</h2>")
        if r.config.get("description"):
            parts.append(f"<p>{_e(r.config['description'])}</p>")
        if r.warnings:
            parts.append("<ul class=warn>" + "".join(f"<li>&#9888; {_e(w)}</li>"
                                                    for w in r.warnings) + "</ul>")
        parts.append(f"<p>Newest run <b>{_e(r.path.name)}</b>{_badge(r)}, made by</p>"
                     f"<pre>{_e(r.config.get('command', '(command not recorded)'))}</pre>")
        parts.append(f"<p>{len(rs)} run(s):</p>" + _run_table(rs, keys, root))
        figs = []
        for f in r.figures:
            rel = (r.path.relative_to(root) / f).as_posix()
            pdf = r.path / f"{f}.pdf"
            target = f"{rel}.pdf" if pdf.exists() else f"{rel}.png"
            cap = r.captions.get(f)
            figs.append(f'<figure><a href="{_e(target)}"><img src="{_e(rel)}.png" '
                        f'alt="{_e(name)}: {_e(f)}" loading=eager></a>'
                        f"<figcaption><b>{_e(f)}</b>{': ' + _e(cap) if cap else ''}"
                        f"</figcaption></figure>")
        parts.append('<div class="figs">' + "".join(figs) + "</div>")
    if benchmarks:
        parts.append("<h2 id=benchmarks>Benchmarks (benchmarks/out)</h2>"
                     "<p class=muted>Ours and a reference tool timed side by side in one "
                     "process; below 1 means nmmjax is faster. Details in "
                     "benchmarks/RESULTS.md.</p>" + _benchmark_table(benchmarks))
    parts.append("</body></html>")
    return "\n".join(parts)


def build(results: str | Path = "results", benchmarks: str | Path | None = "benchmarks/out",
          ) -> Path:
    """Write ``<results>/index.html`` and return its path."""
    results = Path(results)
    runs = find_runs(results)
    if not runs:
        raise ValueError(f"no finished runs under {results}; run e.g. "
                         "`python -m experiments.jr_column --quick` or `make demo` first.")
    page = render(runs, results, load_benchmarks(benchmarks))
    out = results / "index.html"
    io.save_text(out, page)
    return out


def main(argv: list[str] | None = None) -> Path:
    """Command line of ``python -m nmmjax.report``: write the HTML report and return its path."""
    ap = argparse.ArgumentParser(prog="python -m nmmjax.report", description=__doc__.split(
        "\n\n")[0])
    ap.add_argument("--results", type=Path, default=Path("results"), help="results root")
    ap.add_argument("--benchmarks", type=Path, default=Path("benchmarks/out"),
                    help="folder of benchmark JSON files (skipped if absent)")
    args = ap.parse_args(argv)
    try:
        out = build(args.results, args.benchmarks)
    except ValueError as e:
        raise SystemExit(f"error: {e}") from None
    n = sum(len(r) for r in find_runs(args.results).values())
    print(f"report: {out} ({n} runs); open it in a browser")
    return out


if __name__ == "__main__":
    main()
