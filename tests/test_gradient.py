import jax
import jax.numpy as jnp
import numpy as np
import optax

from nmmjax.search import gradient
from nmmjax.tasks import correlation as ob


def test_projected_adam_finds_the_constrained_minimum():
    target = jnp.array([0.2, 3.0])  # second coordinate outside the box [0, 1]
    loss = lambda x, k: jnp.sum((x - target) ** 2, axis=1)
    r = gradient.run(loss, jnp.full((3, 2), 0.5), steps=300, key=jax.random.PRNGKey(0),
                     optimizer=optax.adam(0.05), bounds=(0.0, 1.0), progress=False)
    np.testing.assert_allclose(np.asarray(r.best_x), [[0.2, 1.0]] * 3, atol=1e-2)
    assert r.history["loss"].shape == (300, 3)


def test_nonfinite_steps_are_skipped():
    loss = lambda x, k: jnp.where(x[:, 0] > 0.5, jnp.nan, jnp.sum(x**2, axis=1))
    r = gradient.run(loss, jnp.array([[0.9, 0.9]]), steps=5, key=jax.random.PRNGKey(0),
                     progress=False)
    assert r.history["n_nonfinite"].sum() == 5
    np.testing.assert_array_equal(np.asarray(r.x), np.float32([[0.9, 0.9]]))


def test_smooth_fitness_tends_to_the_exact_one():
    c = jax.random.uniform(jax.random.PRNGKey(0), (3, 3, 20), minval=-1, maxval=1)
    c = 0.5 * (c + jnp.swapaxes(c, 0, 1))
    exact = ob.situation_fitness(c, (0, 2))
    smooth = ob.smooth_situation_fitness(c, (0, 2), temperature=1e-4, eps=1e-6)
    np.testing.assert_allclose(np.asarray(smooth), np.asarray(exact), atol=1e-3)


def test_gradient_through_the_network_simulation_is_finite_and_informative():
    task = ob.CorrelationTask(duration=2.0, transient=0.5, n_samples=1)
    data = ob.make_dataset(jax.random.PRNGKey(0), task)
    g = jax.random.uniform(jax.random.PRNGKey(1), (1, 72), maxval=20.0)
    f = lambda g: jnp.sum(ob.smooth_correlation_fitness(g, data, task))
    val, grad = jax.value_and_grad(f)(g)
    assert np.isfinite(float(val)) and np.all(np.isfinite(np.asarray(grad)))
    assert float(jnp.abs(grad).max()) > 0
    # Directional derivative agrees with a finite difference.
    d = jax.random.normal(jax.random.PRNGKey(2), g.shape)
    h = 1e-2
    fd = (f(g + h * d) - f(g - h * d)) / (2 * h)
    assert abs(float(fd) - float(jnp.sum(grad * d))) < 0.1 * abs(float(fd)) + 1e-3


def test_a_diverging_start_does_not_freeze_the_others():
    # row 0 is NaN wherever x0 > 0.5; row 1 is a plain bowl and must still converge
    loss = lambda x, k: jnp.where(x[:, 0] > 0.5, jnp.nan, jnp.sum((x - 0.2) ** 2, axis=1))
    r = gradient.run(loss, jnp.array([[0.9, 0.9], [0.4, 0.4]]), steps=200,
                     key=jax.random.PRNGKey(0), optimizer=optax.adam(0.02), progress=False)
    np.testing.assert_array_equal(r.history["n_nonfinite"], [200, 0])
    np.testing.assert_array_equal(np.asarray(r.x[0]), np.float32([0.9, 0.9]))
    np.testing.assert_allclose(np.asarray(r.x[1]), [0.2, 0.2], atol=1e-2)
