"""neurolib side of the whole-brain benchmark, run in ``.bench-venv/neurolib``.

    python neurolib_reference.py OUT.npz SECONDS REPEATS   # prints one JSON line

neurolib 0.6.2's ``WCModel`` (numba) on its 80-region ``gw`` dataset, default
parameters (K_gl = 0.6, signalV = 20 mm/ms) with exc_ext = 0.75, no noise
(sigma_ou = 0), Euler, dt = 0.1 ms. Writes the connectome, the initial state
and the excitatory rates every 5 ms (first 1 s) to OUT.npz for the side-by-side check.
"""

import json
import sys
import time

import numpy as np
from neurolib.models.wc import WCModel
from neurolib.utils.loadData import Dataset


def build(seconds):
    ds = Dataset("gw")
    model = WCModel(Cmat=ds.Cmat, Dmat=ds.Dmat, seed=0)
    model.params["duration"] = seconds * 1e3
    model.params["dt"] = 0.1
    model.params["exc_ext"] = 0.75
    model.params["sigma_ou"] = 0.0
    return ds, model


def main(out, seconds, repeats):
    times = []
    ds, model = build(0.2)
    model.run()  # numba compilation
    for _ in range(repeats):
        ds, model = build(seconds)
        t = time.perf_counter()
        model.run()
        times.append(time.perf_counter() - t)
    exc = np.asarray(model.exc)  # (N, T) every dt after the initial history
    np.savez_compressed(out, cmat=model.params["Cmat"], lengths=model.params["lengthMat"],
                        exc_init=model.params["exc_init"], inh_init=model.params["inh_init"],
                        exc=exc[:, 49::50][:, :200])  # first 1 s, every 5 ms
    print(json.dumps({"tool": "neurolib 0.6.2 WCModel", "seconds": float(np.median(times)),
                      "times": times, "n_regions": int(exc.shape[0])}))


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]), int(sys.argv[3]))
