"""The number of BLAS threads kata train and the experiments use (checker/threads.py): the cores other
programs leave free, measured from the machine's busy time less this process's own, at the start and
again as training goes; KATA_BLAS_THREADS overrides it. The machine is a stand-in here: no test
depends on the load of the machine it runs on (speed itself: bench/bench.py)."""

from __future__ import annotations

import math

import pytest

from checker import threads, training


class Machine:
    """A machine of `cpus` CPUs whose clocks move only when the test says so."""

    def __init__(self, cpus=2):
        self.cpus, self.wall, self.own, self.busy, self.total = cpus, 0.0, 0.0, 0.0, 0.0

    def run(self, seconds, others, mine=1.0):
        """`seconds` pass with other programs keeping `others` cores busy and this process `mine`."""
        self.wall += seconds
        self.total += self.cpus * seconds
        self.busy += min(self.cpus, others + mine) * seconds
        self.own += mine * seconds

    def choice(self, **options) -> threads.ThreadChoice:
        return threads.ThreadChoice(cores=self.cpus, cpus=self.cpus, read=lambda: (self.busy, self.total),
                                    clock=lambda: self.wall, own=lambda: self.own,
                                    sleep=lambda seconds: self.run(seconds, others=self.others, mine=0.0),
                                    **options)


@pytest.mark.parametrize("cpus, others, expected", [
    (2, 0.0, 2),  # a quiet machine: every core
    (2, 0.1, 2),  # an editor now and then
    (2, 2.0, 1),  # two busy loops: one thread
    (2, 1.0, 1),  # one busy loop on two cores: the one core left
    (2, 0.5, 1),  # half a core taken: two threads would wait for it at every product
    (4, 1.0, 3),
    (1, 0.0, 1),
])
def test_the_count_is_the_cores_other_programs_leave_free(cpus, others, expected):
    machine = Machine(cpus)
    machine.others = others
    choice = machine.choice()
    machine.run(1.5, others=others, mine=1.0)  # loading the data and timing a batch: one core of ours
    assert choice.choose() == expected


def test_a_short_window_is_waited_out_and_our_own_threads_do_not_count_as_others():
    machine = Machine(2)
    machine.others = 0.0
    choice = machine.choice()
    assert choice.choose() == 2 and machine.wall == pytest.approx(threads.MIN_WINDOW)  # waited, measured
    machine.run(3.0, others=0.0, mine=2.0)  # an epoch on both cores: all of it ours
    assert choice.choose() == 2
    machine.run(3.0, others=1.0, mine=1.0)  # a busy loop came: the machine is full, half of it someone else's
    assert choice.choose() == 1
    machine.run(3.0, others=0.0, mine=1.0)  # it went away
    assert choice.choose() == 2
    assert [chosen for _, chosen in choice.history] == [2, 2, 1, 2]


def test_without_proc_stat_training_keeps_one_thread(tmp_path):
    assert threads.machine_times(str(tmp_path / "missing")) is None
    choice = threads.ThreadChoice(read=lambda: None, sleep=lambda seconds: None)
    assert choice.choose() == 1 and math.isnan(choice.history[-1][0])


def test_proc_stat_is_read_as_seconds_of_the_whole_machine():
    times = threads.machine_times()
    if times is None:
        pytest.skip("no /proc/stat here")
    busy, total = times
    assert 0 < busy <= total


def test_kata_blas_threads_overrides_the_choice_and_a_bad_value_is_one_clear_error(monkeypatch):
    monkeypatch.setenv("KATA_BLAS_THREADS", "3")
    assert threads.overridden() == 3
    with threads.blas_threads() as active:
        assert active.fixed and active.choice.threads == 3
    monkeypatch.setenv("KATA_BLAS_THREADS", "many")
    with pytest.raises(threads.KataError, match="KATA_BLAS_THREADS='many' is not a whole number"):
        threads.overridden()


def test_training_checks_the_choice_again_between_epochs_and_within_a_long_one(monkeypatch):
    machine = Machine(2)
    machine.others = 0.0
    choice = machine.choice()
    active = threads.Threads(choice, fixed=False)
    applied = []
    monkeypatch.setattr(active.limit, "set", applied.append)
    monkeypatch.setattr(threads, "_ACTIVE", [active])
    progress = threads.rechecking(training.Silent())
    active.choose()
    machine.run(2.0, others=2.0)  # epoch 1, during which two busy loops started
    progress.epoch_start(2, 3, 100)
    assert applied == [2, 1]
    machine.run(0.1, others=0.0)
    progress.batch(1, 0.5)  # too soon to look again
    assert applied == [2, 1]
    machine.run(threads.RECHECK_SECONDS, others=0.0)  # they ended: within the epoch, it notices
    progress.batch(2, 0.5)
    assert applied == [2, 1, 2]


def test_an_experiment_keeps_one_count_for_every_arm(monkeypatch):
    """An arm must differ from another by its factor only: not by a thread count the load changed."""
    monkeypatch.delenv("KATA_BLAS_THREADS", raising=False)
    with threads.blas_threads(fixed=True) as active:
        first = active.choice.threads
        progress = threads.rechecking(training.Silent())
        progress.epoch_start(2, 3, 10)
        progress.batch(1, 0.1)
        assert active.choice.threads == first and len(active.choice.history) == 1
