import os

# Tests run on whatever devices exist (1 CPU device by default); tests that
# need several devices start a subprocess with XLA_FLAGS set.
os.environ.setdefault("JAX_PLATFORMS", "cpu")
