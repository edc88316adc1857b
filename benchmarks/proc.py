"""Child processes of the benchmarks: starting them, bounded waits, and always cleaning up."""

from __future__ import annotations

import ctypes
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO, Any

REPO_ROOT = Path(__file__).resolve().parent.parent
PR_SET_PDEATHSIG = 1
RESULT_PREFIX = "RESULT "


class ChildError(RuntimeError):
    """A benchmark child process failed or did not answer in time."""


def die_with_parent() -> None:
    """Ask Linux to SIGTERM this process when its parent dies, so no benchmark process outlives
    an interrupted run (each child cleans up its own children when it gets SIGTERM)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return  # not Linux: children still get stopped by the parent's finally blocks


def exit_on_sigterm() -> None:
    """SIGTERM raises SystemExit, so finally blocks stop children and remove temp directories."""

    def terminate(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a child: the repository importable, no stray bytecode surprises."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    env.pop("HOTRELOAD_ENV", None)  # the benchmarks choose their profiles explicitly
    env.update(extra)
    return env


def job_command(job: str, args: dict[str, Any]) -> list[str]:
    return [sys.executable, "-m", "benchmarks.child", job, json.dumps(args)]


def run_job(job: str, args: dict[str, Any], *, timeout: float) -> dict[str, Any]:
    """Run ``python -m benchmarks.child JOB ARGS`` to the end and return its result dict."""
    process = subprocess.Popen(
        job_command(job, args),
        cwd=REPO_ROOT,
        env=child_env(),
        preexec_fn=die_with_parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise ChildError(f"benchmark job {job!r} did not finish within {timeout:g} s") from e
    finally:
        if process.poll() is None:
            # Interrupted or timed out: SIGTERM first, so the child's finally blocks stop its
            # own children and remove its temporary directories; SIGKILL if it does not end.
            process.terminate()
            try:
                process.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_PREFIX) and process.returncode == 0:
            result: dict[str, Any] = json.loads(line[len(RESULT_PREFIX) :])
            return result
    tail = "\n".join((stderr or "").splitlines()[-25:])
    raise ChildError(f"benchmark job {job!r} failed (exit {process.returncode}):\n{tail}")


def emit_result(result: dict[str, Any]) -> None:
    """How a child hands its result to the parent: one prefixed JSON line on stdout."""
    sys.stdout.write(RESULT_PREFIX + json.dumps(result) + "\n")
    sys.stdout.flush()


class Spawned:
    """A long-running child in its own session, stopped (and its whole group killed) on exit.

    The child runs in a new session, so the group id is its pid: killing that group reaches the
    processes it started (a restart reloader's host) and nothing else.
    """

    def __init__(
        self,
        command: Sequence[str],
        *,
        stdin: int | None = None,
        stdout: int | IO[Any] | None = subprocess.DEVNULL,
        stderr: int | IO[Any] | None = subprocess.DEVNULL,
        stop_signal: int = signal.SIGTERM,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.stop_signal = stop_signal
        self.process = subprocess.Popen(
            list(command),
            cwd=cwd or REPO_ROOT,
            env=env or child_env(),
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, timeout: float = 10.0) -> int | None:
        """Ask the child to stop, wait a bounded time, then kill its process group."""
        process = self.process
        if process.poll() is None:
            try:
                process.send_signal(self.stop_signal)
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(process.pid, signal.SIGKILL)  # leftovers of the group, if any
        except (ProcessLookupError, PermissionError):
            pass
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            pass
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                stream.close()
        return process.returncode

    def __enter__(self) -> Spawned:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class LineChannel:
    """Line-wise requests and replies over a child's pipes, every read bounded by a timeout."""

    def __init__(self, child: Spawned) -> None:
        process = child.process
        assert process.stdin is not None and process.stdout is not None
        self._in = process.stdin
        self._out_fd = process.stdout.fileno()
        self._buffer = b""

    def send(self, message: dict[str, Any]) -> None:
        self._in.write(json.dumps(message).encode() + b"\n")
        self._in.flush()

    def receive(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ChildError(f"no reply from the child within {timeout:g} s")
            ready, _, _ = select.select([self._out_fd], [], [], remaining)
            if ready:
                chunk = os.read(self._out_fd, 65536)
                if not chunk:
                    raise ChildError("the child closed its output")
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        reply: dict[str, Any] = json.loads(line)
        return reply


def cpu_seconds(pid: int) -> float:
    """CPU time a process has used so far (user + system, all its threads).

    /proc/<pid>/task/*/schedstat counts nanoseconds on the CPU; /proc/<pid>/stat counts clock
    ticks (10 ms), too coarse for an idle process over a few seconds, so it is the fallback.
    """
    total_ns = 0
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{task}/schedstat", encoding="ascii") as f:
                    total_ns += int(f.read().split()[0])
            except FileNotFoundError:
                continue  # the thread ended between listing and reading
        return total_ns / 1e9
    except (FileNotFoundError, ValueError, IndexError):
        pass
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rpartition(")")[2].split()
    # After the command name: state is field 3, utime and stime are fields 14 and 15.
    ticks = int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def rss_bytes() -> int:
    """This process's resident set size, from /proc/self/statm."""
    with open("/proc/self/statm", encoding="ascii") as f:
        resident_pages = int(f.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE")
