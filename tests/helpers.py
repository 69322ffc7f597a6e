"""Shared test helpers."""

import json
import os
import subprocess
import sys


def run_on_host_devices(script: str, n_devices: int, timeout: float = 300) -> dict:
    """Run ``script`` in a fresh Python that sees ``n_devices`` CPU devices;
    return the JSON object it prints on its last line."""
    env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={n_devices}")
    res = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                         text=True, timeout=timeout)
    assert res.returncode == 0, res.stderr[-2000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


def interrupted_after_saves(monkeypatch, n_saves: int, run) -> int:
    """Call ``run()`` with :func:`nmmjax.checkpoint.save` patched to raise
    ``KeyboardInterrupt`` right after its ``n_saves``-th checkpoint (as if the
    run were stopped there; an experiment's command line turns it into
    ``SystemExit(130)``); return the number of checkpoints written."""
    import pytest

    from nmmjax import checkpoint

    save, calls = checkpoint.save, []

    def save_then_stop(*a):
        save(*a)
        calls.append(1)
        if len(calls) == n_saves:
            raise KeyboardInterrupt

    with monkeypatch.context() as mp:
        mp.setattr(checkpoint, "save", save_then_stop)
        with pytest.raises((KeyboardInterrupt, SystemExit)) as e:
            run()
        if isinstance(e.value, SystemExit):
            assert e.value.code == 130
    return len(calls)


def random_connectome(n: int, seed: int = 0, lengths=None):
    """A small random connectome: ~60 % of the off-diagonal weights in
    [0.2, 1]; symmetric random tract lengths in [5, 40] mm, or ``lengths``
    (mm) everywhere."""
    import numpy as np

    from nmmjax.networks import connectome

    rng = np.random.default_rng(seed)
    w = rng.uniform(0.2, 1.0, (n, n)) * (rng.uniform(size=(n, n)) < 0.6)
    np.fill_diagonal(w, 0.0)
    if lengths is None:
        ln = rng.uniform(5.0, 40.0, (n, n))
        ln = (ln + ln.T) / 2
    else:
        ln = np.full((n, n), float(lengths))
    return connectome.from_arrays(w, ln)
