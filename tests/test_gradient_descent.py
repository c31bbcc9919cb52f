"""Stage 7: gradient descent. Tasks: sgd_step(params, grads, lr), then minibatches(num_examples, batch_size, rng)."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from checker.teach import check_close, check_dtype, check_unchanged, fail, learner_function, show

sgd_step = learner_function("gradient_descent", "sgd_step")
minibatches = learner_function("gradient_descent", "minibatches")

IN_PLACE = ("update each array in place: params[k] -= lr * grads[k]. params[k] = params[k] - lr * grads[k] builds "
            "a new array at every step instead of changing the one the network holds: slower, and any other "
            "reference to the old array keeps stale weights.")
SHUFFLE = ("Shuffle the indices 0..N-1 once per epoch with the generator you are given, then cut that shuffled "
           "order into consecutive pieces of batch_size indices; the last piece keeps what remains.")
GENERATOR = "shuffle with the generator you are given (rng.permutation), not np.random."


def run_sgd_step(params, grads, lr):
    """Call sgd_step on params; check it returns the same dict and updates the same arrays."""
    arrays_before = dict(params)  # the array objects themselves
    values_before = {k: v.copy() for k, v in params.items()}
    grads_before = {k: v.copy() for k, v in grads.items()}
    given_ = {**{f"params[{k!r}]": v for k, v in values_before.items()}, "lr": lr}
    result = sgd_step(params, grads, lr)
    check_unchanged(grads_before, grads, "sgd_step")
    if result is not params:
        fail(f"sgd_step must return the params dict it was given (updated in place); it returned "
             f"{'a new dict' if isinstance(result, dict) else type(result).__name__}.", given=given_, hint=IN_PLACE)
    for key, array in arrays_before.items():
        if params.get(key) is not array:
            fail(f"sgd_step replaced params[{key!r}] with a new array instead of updating it in place.",
                 given=given_, hint=IN_PLACE)
    return values_before


def epoch(num_examples, batch_size, seed):
    """All batches of one call of minibatches, with the basic checks on each."""
    batches = []
    for i, batch in enumerate(minibatches(num_examples, batch_size, np.random.default_rng(seed))):
        batch = np.asarray(batch)
        if batch.ndim != 1 or not np.issubdtype(batch.dtype, np.integer):
            fail(f"batch {i} must be a 1-D array of integer indices; got shape {batch.shape}, dtype {batch.dtype}.",
                 given={"num_examples": num_examples, "batch_size": batch_size}, got=batch,
                 hint="yield 1-D arrays of integer indices into the data (pieces of one shuffled order), not the "
                      "data itself or lists of lists.")
        batches.append(batch)
        if len(batches) > num_examples + 1:
            fail(f"minibatches({num_examples}, {batch_size}, rng) yields more than {num_examples} batches.",
                 hint=SHUFFLE)
    return batches


def first_difference(sizes: list, expected: list) -> str:
    """Where two lists of batch sizes part: the learner sees the batch that went wrong, not two long lists."""
    for i, (size, wanted) in enumerate(zip(sizes, expected)):
        if size != wanted:
            return f"Batch {i} has {size} indices, expected {wanted} ({len(sizes)} batches, expected {len(expected)})."
    if len(sizes) < len(expected):
        missing = expected[len(sizes):]
        what = f"the last batch (of {missing[0]})" if len(missing) == 1 else f"{len(missing)} batches"
        return f"The first {len(sizes)} batches are right, but {what} {'is' if len(missing) == 1 else 'are'} missing ({len(sizes)} batches, expected {len(expected)})."
    return f"The first {len(expected)} batches are right, then come {len(sizes) - len(expected)} more (sizes {sizes[len(expected):][:5]})."


# Task 1: sgd_step -------------------------------------------------------------------------------

def test_sgd_step_worked_example():
    params = {"w": np.array([1.0, 2.0]), "b": np.array([0.5])}
    grads = {"w": np.array([10.0, -10.0]), "b": np.array([1.0])}
    run_sgd_step(params, grads, 0.1)
    for key, expected in (("w", [0.0, 3.0]), ("b", [0.4])):
        check_close(params[key], expected, problem=f"after one step with lr 0.1, params[{key!r}] is wrong",
                    given={"grads": grads[key]}, hint="p <- p - lr * g: step against the gradient (downhill).")


@given(st.dictionaries(st.sampled_from(["W1", "b1", "W2", "b2"]),
                       hnp.arrays(np.float64, hnp.array_shapes(max_dims=2, max_side=4), elements=st.floats(-10, 10)),
                       min_size=1),
       st.floats(0.0, 2.0), st.data())
def test_sgd_step_moves_every_parameter_against_its_gradient(params, lr, data):
    grads = {k: data.draw(hnp.arrays(np.float64, v.shape, elements=st.floats(-10, 10)), label=f"grads[{k!r}]")
             for k, v in params.items()}
    before = run_sgd_step(params, grads, lr)
    for key in params:
        check_close(params[key], before[key] - lr * grads[key],
                    problem=f"params[{key!r}] must become params[{key!r}] - lr * grads[{key!r}] (lr = {lr:g})",
                    given={f"params[{key!r}]": before[key], f"grads[{key!r}]": grads[key]},
                    hint="update every key of the dict, with a minus sign.")


def test_sgd_step_updates_the_arrays_in_place():
    W = np.ones((2, 3))
    params = {"W1": W}
    run_sgd_step(params, {"W1": np.full((2, 3), 2.0)}, 0.25)
    check_close(W, np.full((2, 3), 0.5), problem="the array held by the training loop must change",
                hint=IN_PLACE)


def test_sgd_step_keeps_float32():
    params = {"W1": np.ones((2, 2), np.float32)}
    run_sgd_step(params, {"W1": np.ones((2, 2), np.float32)}, 0.1)
    check_dtype(params["W1"], np.float32, "sgd_step", given={"params['W1']": params["W1"]})


# Task 2: minibatches ----------------------------------------------------------------------------

def test_minibatches_worked_example():
    batches = epoch(5, 2, seed=0)
    sizes = [len(b) for b in batches]
    if sizes != [2, 2, 1]:
        fail(f"minibatches(5, 2, rng) must yield batches of sizes [2, 2, 1]; got {sizes}. {first_difference(sizes, [2, 2, 1])}",
             got=[b.tolist() for b in batches], hint=SHUFFLE)
    if sorted(np.concatenate(batches).tolist()) != [0, 1, 2, 3, 4]:
        fail("minibatches(5, 2, rng) must use each of the indices 0..4 exactly once.",
             got=[b.tolist() for b in batches], hint=SHUFFLE)


@given(st.integers(1, 300), st.integers(1, 70), st.integers(0, 2**32 - 1))
def test_minibatches_visit_every_example_exactly_once_per_epoch(num_examples, batch_size, seed):
    batches = epoch(num_examples, batch_size, seed)
    given_ = {"num_examples": num_examples, "batch_size": batch_size}
    seen = np.concatenate(batches) if batches else np.array([], dtype=int)
    if not np.array_equal(np.sort(seen), np.arange(num_examples)):
        counts = np.bincount(seen[(seen >= 0) & (seen < num_examples)], minlength=num_examples)
        missing, repeated = np.flatnonzero(counts == 0), np.flatnonzero(counts > 1)
        outside = int(np.sum((seen < 0) | (seen >= num_examples)))
        if repeated.size:
            hint = ("drawing random indices for each batch (rng.integers, rng.choice) repeats some and misses "
                    "others. " + SHUFFLE)
        elif not outside and len(missing) == num_examples % batch_size:
            hint = f"the {len(missing)} missing are the last, smaller batch: keep it. " + SHUFFLE
        else:
            hint = "check where each slice starts and ends: together they must cover the whole order. " + SHUFFLE
        fail("one epoch must use every index in 0..N-1 exactly once: "
             f"{len(missing)} missing (e.g. {missing[:5].tolist()}), {len(repeated)} repeated, "
             f"{outside} out of range.", given=given_, hint=hint)
    sizes = [len(b) for b in batches]
    expected = [batch_size] * (num_examples // batch_size) + ([num_examples % batch_size] if num_examples % batch_size else [])
    if sizes != expected:
        fail(f"the batch sizes are wrong for {num_examples} examples in batches of {batch_size}: "
             f"{first_difference(sizes, expected)}",
             given=given_, hint="all batches have batch_size indices except the last, which has the remainder. " + SHUFFLE)


def test_minibatches_are_shuffled():
    order = np.concatenate(epoch(100, 10, seed=1))
    if np.array_equal(order, np.arange(100)):
        fail("minibatches must shuffle: the indices came out in order 0, 1, 2, ...", got=order,
             hint="the data files are sorted in ways that hurt training; " + SHUFFLE)


def test_minibatches_give_the_same_order_for_the_same_seed_and_another_for_another_seed():
    first, again, other = (np.concatenate(epoch(50, 8, seed)) for seed in (3, 3, 4))
    if not np.array_equal(first, again):
        fail("two generators with the same seed must give the same batches.", got=f"{show(first)}\nthen {show(again)}",
             hint=GENERATOR)
    if np.array_equal(first, other):
        fail("seeds 3 and 4 give the same order: minibatches ignores the generator it is given.", hint=GENERATOR)


def test_minibatches_reshuffle_every_epoch():
    rng = np.random.default_rng(9)
    first = np.concatenate([np.asarray(b) for b in minibatches(40, 7, rng)])
    second = np.concatenate([np.asarray(b) for b in minibatches(40, 7, rng)])
    if np.array_equal(first, second):
        fail("two epochs drawn from the same generator must come in different orders.", got=first,
             hint="draw a fresh permutation from rng at every call, do not create a new generator with a fixed seed.")


def test_minibatches_leave_the_global_random_state_alone():
    np.random.seed(99)
    _, keys_before, position_before, *_ = np.random.get_state()
    epoch(30, 4, seed=0)
    _, keys_after, position_after, *_ = np.random.get_state()
    if position_after != position_before or not np.array_equal(keys_after, keys_before):
        fail("minibatches changed NumPy's global random state (np.random).", hint=GENERATOR)


def test_minibatches_with_a_batch_larger_than_the_data_give_one_batch():
    batches = epoch(3, 10, seed=0)
    if len(batches) != 1 or sorted(batches[0].tolist()) != [0, 1, 2]:
        fail(f"minibatches(3, 10, rng) must yield a single batch holding 0, 1, 2; got {[b.tolist() for b in batches]}.",
             hint=SHUFFLE)
