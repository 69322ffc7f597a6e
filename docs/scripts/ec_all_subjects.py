"""The effective-connectivity fit (tasks.linear_hopf, closed form) on all 5
gw subjects: fitted to the first half of each scan, scored on the second.

    .venv/bin/python docs/scripts/ec_all_subjects.py

Prints per subject: held-out r of the linear Hopf network at Deco's G = 1/s,
a = -0.02/s; EC train r; EC held-out r; the band-passed split-half ceiling;
seconds. Output of 2026-12-08: ec_all_subjects-2026-12-08.txt.
"""

import time

import jax.numpy as jnp
import numpy as np

from nmmjax import analysis, datasets
from nmmjax.tasks import empirical
from nmmjax.tasks import linear_hopf as lh

BAND = (0.04, 0.07)


def _r(a, b):
    return float(analysis.matrix_correlation(jnp.asarray(a, jnp.float32),
                                             jnp.asarray(b, jnp.float32)))


def main():
    ds = datasets.load("gw")
    rows = []
    for name in ds.names:
        s = ds.subject(name)
        w = np.asarray(s.connectome().weights)
        held = empirical.split_half(s.bold, s.tr, band=BAND)
        half = s.bold[:held.train.n_volumes]
        f, p = analysis.power_spectrum(empirical.bandpass(half, s.tr, BAND), s.tr)
        om = 2 * np.pi * np.asarray(analysis.peak_frequency(f, p, fmin=BAND[0], fmax=BAND[1]))
        p0 = lh.LinearHopf(a=-0.02, omega=om, coupling=1.0)
        t = time.time()
        res = lh.ec_fit(held.train.fc, w, p0, band=BAND, tr=s.tr, steps=300)
        rows.append((_r(lh.fc(p0, w, band=BAND, tr=s.tr), held.test.fc),
                     _r(res.fc, held.train.fc), _r(res.fc, held.test.fc), held.reliability,
                     time.time() - t))
        print(name, *(f"{x:.3f}" for x in rows[-1]), flush=True)
    a = np.array(rows)
    med = np.median(a, axis=0)
    print(f"median global test {med[0]:.3f}, EC train {med[1]:.3f}, EC test {med[2]:.3f}, "
          f"ceiling {med[3]:.3f}, fraction {med[2] / med[3]:.3f} "
          f"(per subject median {np.median(a[:, 2] / a[:, 3]):.3f})")


if __name__ == "__main__":
    main()
