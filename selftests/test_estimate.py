"""The time estimate before kata train trains, and the question before a long run (checker/estimate.py).

The learner's functions are timed beside the reference's, in turn, on the same images; the decision
comes from the ratio of their processor times, which a busy machine does not move, and a function is
called a loop version only when it alone is many times slower than the reference's. Learner code comes
from selftests/loop_versions.py (correct implementations, slow or not), swapped into copies of the
reference. Every timing here is of a few small batches on the tiny dataset.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from types import SimpleNamespace

import pytest

from checker import estimate, training
from checker.project import ROOT
from checker.train_options import default_config
from loop_versions import LOOP_VERSIONS
from mutants import build_package, swap_function
from training_helpers import busy_loops, tiny_dataset

# What kata train estimates for: MNIST's sizes (the tiny dataset is timed, the run is MNIST's).
MNIST = SimpleNamespace(train=SimpleNamespace(labels=range(50_000)), validation=SimpleNamespace(labels=range(10_000)),
                        test=SimpleNamespace(labels=range(10_000)))
LEARNER_CODE = {  # package name -> the loop_versions entries swapped into a copy of the reference
    "kata_vectorised_conv": ("conv_vectorised",),
    "kata_loop_conv_and_pool": ("conv", "pool"),
    "kata_loop_dense": ("dense_loops",),
}
SMALL_CNN = replace(default_config("cnn"), filters=(2, 4))  # a loop conv2d takes a second, not a minute, per probe


@pytest.fixture(scope="module")
def learner_code(tmp_path_factory):
    """The packages of LEARNER_CODE, importable while the module's tests run."""
    folder = tmp_path_factory.mktemp("learner_code")
    for name, entries in LEARNER_CODE.items():
        first, *rest = [version for entry in entries for version in LOOP_VERSIONS[entry]]
        package = build_package(first, ROOT / "solutions", folder, name=name)
        for version in rest:
            swap_function(package, version)
    sys.path.insert(0, str(folder))
    yield
    sys.path.remove(str(folder))
    for name in [m for m in sys.modules if m.split(".")[0] in LEARNER_CODE]:
        del sys.modules[name]


@pytest.fixture(scope="module")
def timed_under_load(learner_code):
    """Each learner's batch timed beside the reference's while two busy loops hold the cores."""
    dataset = tiny_dataset()
    cases = {"kata_vectorised_conv": default_config("cnn"), "kata_loop_conv_and_pool": SMALL_CNN,
             "kata_loop_dense": replace(default_config(), hidden=32)}
    with busy_loops(2):
        return {name: (config, estimate.time_one_batch(training.load_parts(name, config), config, dataset))
                for name, config in cases.items()}


def off_a_terminal(monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)


def test_a_vectorised_conv_written_another_way_starts_under_two_busy_loops_and_is_not_called_a_loop(
        timed_under_load, monkeypatch):
    config, batch = timed_under_load["kata_vectorised_conv"]
    assert batch.probed is None and batch.reference is not None  # full batches, beside the reference's
    assert batch.ratio < estimate.SLOW_RATIO and estimate.loop_pieces(batch) == [], batch
    assert not estimate.is_slow(batch)
    line = estimate.timing_line(batch, config, 36 * 60)
    assert line.startswith("Your functions against the reference's, timed in turn just now on the same batch of 64 "
                           "(forward and backward, processor time): ")
    assert " (conv2d " in line and ", maxpool " in line and "this run should take about 36 minutes." in line
    assert "loop" not in line.lower()
    off_a_terminal(monkeypatch)
    estimate.confirm_long_run(36 * 60, batch=batch, command="kata train --model cnn")  # starts: no question, no refusal


def test_a_loop_conv_and_a_loop_maxpool_are_both_named_and_the_long_run_does_not_start(timed_under_load, monkeypatch):
    config, batch = timed_under_load["kata_loop_conv_and_pool"]
    assert batch.probed == estimate.PROBE_IMAGES  # a few images told enough
    assert batch.ratio >= estimate.SLOW_RATIO and estimate.loop_pieces(batch) == ["conv2d", "maxpool"], batch
    off_a_terminal(monkeypatch)
    with pytest.raises(estimate.LongRunNotStarted) as stop:
        estimate.confirm_long_run(5 * 3600, batch=batch, command="kata train --model cnn")
    assert (stop.value.slow, stop.value.declined, stop.value.exit_code) == (["conv2d", "maxpool"], False, 1)
    text = str(stop.value)
    assert text.startswith("this run would take about 5.0 hours with your functions, so it did not start. Your "
                           "conv2d and maxpool both make it long: they take ")
    assert "Loop versions are right, but every step of their loops is a Python step." in text
    assert f"For conv2d, {estimate.PIECE['conv2d'].speed_up}. For maxpool, {estimate.PIECE['maxpool'].speed_up}." in text
    assert text.endswith("To train anyway, add --yes.")


def test_a_loop_mlp_gets_an_estimate_and_a_question(timed_under_load, monkeypatch, capsys):
    config, batch = timed_under_load["kata_loop_dense"]
    assert estimate.loop_pieces(batch) == ["dense_forward"] and estimate.is_slow(batch), batch
    seconds = estimate.estimated_run_seconds(batch.seconds, config, MNIST)
    assert seconds > estimate.LONG_RUN_SECONDS
    assert estimate.timing_line(batch, config, seconds).endswith(f"this run should take about "
                                                                 f"{estimate.duration(seconds)}.")
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    asked = []
    with pytest.raises(estimate.LongRunNotStarted) as stop:
        estimate.confirm_long_run(seconds, batch=batch, ask=lambda question: asked.append(question) or "n")
    assert asked == [f"Train anyway, for about {estimate.duration(seconds)}? [y/N] "]
    assert capsys.readouterr().out.startswith("Your dense_forward makes it long: it takes ")
    assert stop.value.declined and stop.value.slow == ["dense_forward"]
    assert str(stop.value) == ("training not started. Speed up your dense_forward (kata hint backprop), check it "
                               "(kata check backprop), then run kata train again.")
    estimate.confirm_long_run(seconds, batch=batch, ask=lambda question: "y")  # yes: it trains


def test_the_ratio_not_the_estimate_decides(monkeypatch):
    """A vectorised learner on a slow machine starts whatever the estimate; the reference's own too."""
    off_a_terminal(monkeypatch)
    quick = estimate.BatchTime(2.0, {"conv2d": 1.5}, reference=1.0, reference_pieces={"conv2d": 0.6}, cpu=0.09,
                               reference_cpu=0.05)
    estimate.confirm_long_run(10 * 3600, batch=quick)
    estimate.confirm_long_run(10 * 3600, batch=estimate.BatchTime(2.0, {}, cpu=0.1))  # the reference's run
    slow = replace(quick, cpu=1.0)  # 20 times the reference's, no one function to blame
    with pytest.raises(estimate.LongRunNotStarted, match="Your functions take 20x as long as the reference's, and no "
                                                          "single one of them explains it"):
        estimate.confirm_long_run(10 * 3600, batch=slow)
    estimate.confirm_long_run(estimate.LONG_RUN_SECONDS, batch=slow)  # short: no question


def test_a_long_run_asks_first_and_off_a_terminal_needs_yes_without_a_timing(monkeypatch, capsys):
    estimate.confirm_long_run(estimate.LONG_RUN_SECONDS - 1)  # short: no question
    off_a_terminal(monkeypatch)
    with pytest.raises(estimate.LongRunNotStarted, match="would take about 17 minutes.*NumPy idiom.*add --yes"):
        estimate.confirm_long_run(1000)
    estimate.confirm_long_run(1000, yes=True)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    estimate.confirm_long_run(5000, ask=lambda question: "y")
    assert "NumPy idiom" in capsys.readouterr().out
    with pytest.raises(estimate.LongRunNotStarted, match="training not started"):
        estimate.confirm_long_run(5000, ask=lambda question: "")


def fake_clocks(monkeypatch, clock):
    """Wall and processor clocks that move only when the test says so."""
    monkeypatch.setattr(estimate.time, "perf_counter", lambda: clock[0])
    monkeypatch.setattr(estimate.time, "thread_time", lambda: clock[0])


def test_a_slow_implementation_is_timed_on_a_few_images_once_and_the_reference_on_the_same(monkeypatch):
    config = training.TrainConfig(hidden=8, batch_size=64, epochs=1, evals_per_epoch=1)
    parts = training.load_parts("solutions", config)
    reference = replace(parts, impl="solutions")
    seen, clock = [], [0.0]

    def slow_forward(params, X):
        seen.append(("learner", len(X)))
        clock[0] += 5  # 5 s for 4 images
        return parts.forward(params, X)

    def reference_forward(params, X):
        seen.append(("reference", len(X)))
        clock[0] += 0.01
        return parts.forward(params, X)

    fake_clocks(monkeypatch, clock)
    batch = estimate.time_one_batch(replace(parts, impl="learner", forward=slow_forward), config, tiny_dataset(),
                                    reference=replace(reference, forward=reference_forward))
    assert seen == [("learner", 4)] + [("reference", 4)] * estimate.ROUNDS
    assert (batch.seconds, batch.cpu, batch.probed) == (5 * 16, 5 * 16, 4)
    assert batch.reference == pytest.approx(0.16) and batch.ratio == pytest.approx(500)


def test_a_fast_implementation_is_timed_on_full_batches_in_turn_with_the_reference(monkeypatch):
    config = training.TrainConfig(hidden=8, batch_size=64, epochs=1, evals_per_epoch=1)
    parts = training.load_parts("solutions", config)
    seen, clock = [], [0.0]

    def forward(who, seconds):
        def timed(params, X):
            seen.append((who, len(X)))
            clock[0] += seconds
            return parts.forward(params, X)
        return timed

    fake_clocks(monkeypatch, clock)
    batch = estimate.time_one_batch(replace(parts, impl="learner", forward=forward("learner", 0.002)), config,
                                    tiny_dataset(), reference=replace(parts, forward=forward("reference", 0.001)))
    assert seen == [("learner", 4)] + [("learner", 64), ("reference", 64)] * estimate.ROUNDS
    assert batch.probed is None and batch.ratio == pytest.approx(2)


def test_the_time_of_each_function_is_its_own_and_the_functions_are_put_back(monkeypatch):
    import solutions.conv
    import solutions.pool

    config = training.TrainConfig(model="cnn", filters=(2, 2), batch_size=64, epochs=1, evals_per_epoch=1)
    parts = training.load_parts("solutions", config)
    clock = [0.0]
    conv_forward, pool_backward = solutions.conv.conv2d_forward, solutions.pool.maxpool_backward

    def slow_conv_forward(*args, **kwargs):
        clock[0] += 3  # 3 s per call
        return conv_forward(*args, **kwargs)

    def slow_pool_backward(*args, **kwargs):
        clock[0] += 1
        return pool_backward(*args, **kwargs)

    monkeypatch.setattr(solutions.conv, "conv2d_forward", slow_conv_forward)
    monkeypatch.setattr(solutions.pool, "maxpool_backward", slow_pool_backward)
    fake_clocks(monkeypatch, clock)
    with estimate.time_spent_in_pieces("solutions") as spent:
        _, cache = parts.forward(training.initial_params(parts, config, 784), tiny_dataset().train.images[:4])
        parts.backward(training.initial_params(parts, config, 784), cache, training.one_hot_targets(
            "solutions", tiny_dataset().train.labels[:4]))
    # Two convolution layers, each pooled: conv2d_forward twice (6 s), maxpool_backward twice (2 s).
    assert spent["conv2d"] == 6 and spent["maxpool"] == 2 and spent["relu"] == 0
    assert solutions.conv.conv2d_forward is slow_conv_forward and solutions.pool.maxpool_backward is slow_pool_backward


def test_a_function_called_from_inside_another_counts_for_itself(monkeypatch, tmp_path):
    """The learner's forward calls their dense_forward, imported by name: each gets its own time."""
    package = tmp_path / "kata_nested"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "backprop.py").write_text(
        "import time\n"
        "CLOCK = [0.0]\n"
        "def dense_forward(x, W, b):\n    CLOCK[0] += 2\n    return x\n"
        "def dense_backward(dout, x, W):\n    return dout, W, W\n"
        "def forward(params, X):\n    CLOCK[0] += 1\n    return dense_forward(X, 0, 0), {}\n"
        "def backward(params, cache, targets):\n    return {}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import kata_nested.backprop as backprop

    fake_clocks(monkeypatch, backprop.CLOCK)
    with estimate.time_spent_in_pieces("kata_nested") as spent:
        backprop.forward({}, None)
    assert spent == {"forward and backward": 1, "dense_forward": 2}
    assert backprop.forward.__module__ == "kata_nested.backprop" and not hasattr(backprop.dense_forward, "__wrapped__")


def advice(seconds, mine: dict, theirs: dict, run_seconds, cpu=None, reference=0.04):
    batch = estimate.BatchTime(seconds, mine, probed=4, reference=reference, reference_pieces=theirs,
                               cpu=cpu or seconds, reference_cpu=reference)
    return estimate.long_run_advice(batch, run_seconds)


def test_the_advice_names_every_loop_version_by_how_much_and_what_the_run_would_take_without():
    conv = estimate.PIECE["conv2d"].speed_up
    assert advice(80.0, {"conv2d": 79.5, "maxpool": 0.006}, {"conv2d": 0.03, "maxpool": 0.005}, 8000) == (["conv2d"], (
        "Your conv2d makes it long: it takes 2,650x as long as the reference's conv2d (79.5 s of the 80 s of processor "
        "time a batch takes); with a conv2d as fast, the run would take about 53 s. A loop version is right, but every step of "
        f"its loops is a Python step. For conv2d, {conv}."))
    loops, text = advice(82.0, {"conv2d": 60.0, "maxpool": 21.9}, {"conv2d": 0.03, "maxpool": 0.005}, 246_000)
    assert loops == ["conv2d", "maxpool"] and text.startswith(
        "Your conv2d and maxpool both make it long: they take 2,000x and 4,380x as long as the reference's (60 s and "
        "21.9 s of the 82 s of processor time a batch takes); with them as fast, the run would take about 7 minutes.")
    # A maxpool as fast as the reference's is never called slow, however slow the conv2d around it.
    assert advice(82.0, {"conv2d": 80.0, "maxpool": 0.004}, {"conv2d": 0.03, "maxpool": 0.005}, 246_000)[0] == ["conv2d"]
    # Nothing stands out: the ratio, not "loops".
    loops, text = advice(2.0, {"conv2d": 0.05, "maxpool": 0.01}, {"conv2d": 0.03, "maxpool": 0.005}, 20_000, cpu=0.8)
    assert loops == [] and text.startswith("Your functions take 20x as long as the reference's, and no single one")
    assert "loop" not in text


def test_durations_and_seconds_read_well():
    assert [estimate.duration(s) for s in (30, 600, 7200, 3 * 86400)] == ["30 s", "10 minutes", "2.0 hours", "3.0 days"]
    assert [estimate.seconds_text(s) for s in (0.00077, 0.044, 1.25, 250)] == ["0.77 ms", "44 ms", "1.25 s", "250 s"]


def test_what_the_run_would_take_without_the_loops_is_reckoned_in_processor_time():
    """On a busy machine the wall time of a batch is several times its processor time: the share of
    the loop version is taken of the processor time, where it was measured."""
    batch = estimate.BatchTime(20.2, {"dense_forward": 5.08}, probed=4, reference=0.0074,
                               reference_pieces={"dense_forward": 0.00366}, cpu=5.09, reference_cpu=0.0074)
    _, text = estimate.long_run_advice(batch, 30 * 3600)
    assert "(5.08 s of the 5.09 s of processor time a batch takes); with a dense_forward as fast, the run would " \
           "take about 5 minutes." in text
