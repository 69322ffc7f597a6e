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
