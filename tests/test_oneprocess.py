"""One process: while a reloading `hotreload up` runs, worker processes are refused, with why."""

from __future__ import annotations

import multiprocessing
import os

import pytest

from hotreload.errors import WorkersRefused
from hotreload.process import refuse_workers


def test_a_multiprocessing_start_is_refused_with_the_reason_and_allowed_after() -> None:
    context = multiprocessing.get_context("spawn")
    with refuse_workers("development"), pytest.raises(WorkersRefused) as refused:
        context.Process(target=os.getpid).start()
    message = str(refused.value)
    assert message.startswith(
        "hotreload up refused to start a worker process (multiprocessing SpawnProcess.start()): "
        "profile 'development' reloads the modules of this one process"
    )
    assert message.endswith("or run workers under a profile with reload = false.")
    process = context.Process(target=os.getpid)  # the block is over: nothing is refused
    process.start()
    process.join(30)
    assert process.exitcode == 0


def test_os_fork_is_refused_before_it_forks() -> None:
    with refuse_workers("development"), pytest.raises(WorkersRefused, match=r"\(os\.fork\(\)\)"):
        pid = os.fork()
        if pid == 0:  # the refusal failed: the child must not run the rest of the suite
            os._exit(0)
        os.waitpid(pid, 0)
