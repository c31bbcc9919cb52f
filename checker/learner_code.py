"""Before and while the learner's own functions train (kata train, kata experiment, the first
training of kata): which stages must pass first, whether an optional one does, and what a crash
inside the learner's code becomes.

    require_passing_stages(config, command)   KataError naming the first stage that must pass and does not
    stage_passes(module)                       whether one stage's suite passes on the learner's code
    run_learner_code(impl, function, *args)    function(*args), a crash in exercises/ becoming a KataError
"""

from __future__ import annotations

from pathlib import Path

from . import parts as pieces
from . import runner
from .errors import KataError
from .stages import stage_of_module, stages_of_part
from .teach import learner_frame


def require_passing_stages(config=None, command: str = "kata train") -> None:
    """kata train trains the learner's own network: every Part I stage must pass first, and the
    stage of every Part II or III option that `config` turns on (stage 8 for --l2, 9 for --dropout,
    10 for momentum and Adam, 12 for --batchnorm, 13 and 14 for --model cnn). Plain training never
    waits for Part II."""
    part_one = stages_of_part(1)
    option_stages = []
    for module in pieces.required_modules(config) if config else []:
        stage = stage_of_module(module)
        if stage is None:
            raise KataError(f"{pieces.OPTION_OF_MODULE[module]} needs the stage {module}, which this version "
                            f"of the kata does not have yet. Update the kata (git pull).")
        option_stages.append(stage)
    stage = runner.first_unpassed_stage(impl="exercises", stages=[*part_one, *option_stages])
    if stage is None:
        return
    if stage.part == 1:
        raise KataError(
            f"{stage.label} does not pass yet, and {command} builds your network from all "
            f"{len(part_one)} stages of Part I. Finish it with: kata check {stage.id}  "
            f"(to see the reference train meanwhile: {command} --solutions)")
    option = pieces.OPTION_OF_MODULE[stage.module]
    raise KataError(
        f"{stage.label} does not pass yet, and {option} uses your {' and '.join(stage.tasks)} "
        f"({stage.exercise}). Finish it with: kata check {stage.id}  (to try {option} on the "
        f"reference meanwhile, add --solutions)")


def stage_passes(module: str, impl: str = "exercises") -> bool:
    """True when the stage of `module` passes on impl (always for the reference); False when the
    kata has no such stage."""
    stage = stage_of_module(module)
    if stage is None:
        return False
    if impl != "exercises":
        return True
    return runner.first_unpassed_stage(impl=impl, stages=[stage]) is None


def deep_passes(config, impl: str) -> bool | None:
    """Whether stage 11's deep_forward/deep_backward may build config's network: asked (its suite run)
    only when the network needs it, an MLP with more than one hidden layer or dropout; None otherwise
    (checker.models then needs no answer)."""
    if impl != "exercises" or config.model == "cnn" or config.batchnorm or not (config.depth > 1 or config.dropout > 0):
        return None
    return stage_passes("deep", impl)


def run_learner_code(impl: str, function, *args):
    """function(*args), turning a crash inside the learner's exercises/ into a KataError that
    points at their file (the CLI would otherwise call it an internal error of the kata)."""
    try:
        return function(*args)
    except Exception as error:  # noqa: BLE001 - anything the learner's functions may raise
        frame = learner_frame(error, impl)
        if impl != "exercises" or frame is None:
            raise
        module = Path(frame.filename).stem
        raise KataError(
            f"your {frame.name}() raised {type(error).__name__}: {error} (exercises/{module}.py, "
            f"line {frame.lineno}) during training, although its tests pass. Check what it does "
            f"with float32 mini-batches, the case training adds, then run: kata check {module}") from error
