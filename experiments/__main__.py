"""``python -m experiments``: list the experiments; ``python -m experiments
NAME [options]`` runs one (the same as ``python -m experiments.NAME``);
``python -m experiments all [options]`` runs each in turn with the same
options (``make demo``: ``all --quick --force``)."""

from __future__ import annotations

import importlib
import sys

from experiments import NAMES


def listing() -> str:
    from experiments._runner import _first_line

    rows = []
    for name in NAMES:
        mod = importlib.import_module(f"experiments.{name}")
        rows.append(f"  {name:<16} {_first_line(mod)}")
    return ("experiments (python -m experiments.NAME --quick | --help):\n" + "\n".join(rows)
            + "\nall of them: python -m experiments all --quick (make demo)"
            + "\nreport of all results: python -m nmmjax.report (make report)")


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "list"):
        print(listing())
        return
    name, rest = argv[0], argv[1:]
    if name == "all":
        for n in NAMES:
            print(f"== {n}", flush=True)
            importlib.import_module(f"experiments.{n}").main(rest)
        return
    if name not in NAMES:
        import difflib

        close = difflib.get_close_matches(name, NAMES, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        print(f"error: no experiment {name!r}{hint} (python -m experiments lists them)",
              file=sys.stderr)
        raise SystemExit(2)
    importlib.import_module(f"experiments.{name}").main(rest)


if __name__ == "__main__":
    main()
