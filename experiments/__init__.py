"""One script per study; each runs as ``python -m experiments.<name>``."""

NAMES = ("jr_column", "jr_correlation", "single_neurons", "populations", "plasticity",
         "hopfield", "nmm_memory", "dopamine", "snn_hawkes", "hawkes_calibration", "whole_brain",
         "empirical_fit")
