"""The command line: argv, log set-up, exit codes. The only part that prints or exits."""

from __future__ import annotations

import argparse
import gc
import os
import socket
import sys
import traceback
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, TextIO

from hotreload import __version__
from hotreload.checking import check_contract, emit_violations, module_specs
from hotreload.errors import (
    AppError,
    ContractViolation,
    EntryError,
    HotreloadError,
    LogFileError,
    ManifestError,
    PortInUse,
    ServerError,
)
from hotreload.events import EventLog, ServerFailed
from hotreload.freeze import freeze
from hotreload.init import SCHEMA_FILE, init_manifest
from hotreload.manifest import EnvProfile, LoadedManifest, load_manifest, resolve_env_name
from hotreload.output import EventOutput
from hotreload.process import Interrupts, refuse_workers
from hotreload.schema import stale_schemas, write_schemas
from hotreload.server import Server, set_current
from hotreload.verdicts import StopReason
from hotreload.web.exportserving import (
    ExportsPlan,
    ExportsService,
    bind_exports,
    exports_plan,
)
from hotreload.web.serving import WebApp, bind, load_app, require_extra, serve, web_app
from hotreload.words import LogFormat

EXIT_OK = 0
EXIT_VIOLATION = 1
EXIT_USAGE = 2

# The one table from an exception that ends a command to its exit code; the first match wins, so
# a subclass comes before its base. (Results that are not errors, such as `check` finding
# violations, are returned by the commands themselves.)
EXIT_CODES: tuple[tuple[type[BaseException], int], ...] = (
    (KeyboardInterrupt, EXIT_OK),  # Ctrl+C or SIGTERM, at any moment: a clean stop
    (LogFileError, EXIT_USAGE),  # log_file / --log-file cannot be opened: a setting to fix
    (ManifestError, EXIT_USAGE),
    (ContractViolation, EXIT_VIOLATION),  # the contract is violated at start
    (AppError, EXIT_USAGE),  # the app to serve: a bad path, not an app, the extra, workers
    (PortInUse, EXIT_VIOLATION),
    (ServerError, EXIT_VIOLATION),  # a module fails to import; the entry fails (EntryError)
    (HotreloadError, EXIT_USAGE),
)

DEFAULT_MANIFEST = "hotreload.toml"


def exit_code(error: BaseException) -> int:
    """The exit code for an error that ended a command (see EXIT_CODES)."""
    for kind, code in EXIT_CODES:
        if isinstance(error, kind):
            return code
    raise error


def _error(message: str) -> None:
    print(f"hotreload: error: {message}", file=sys.stderr)


def choose_log_format(explicit: str | None, profile: EnvProfile, stream: TextIO) -> LogFormat:
    """--log-format, else the profile's explicit setting, else console on a terminal, else json."""
    if explicit is not None:
        return "json" if explicit == "json" else "console"
    if "log_format" in profile.model_fields_set:
        return profile.log_format
    return "console" if stream.isatty() else "json"


def _manifest_failed(args: argparse.Namespace, error: ManifestError) -> None:
    """A manifest that cannot be loaded still gets its event, for whoever reads the log."""
    output = EventOutput(choose_log_format(args.log_format, EnvProfile(), sys.stderr))
    env = resolve_env_name(args.env, os.environ, "unknown")
    EventLog(env, output=output).emit(ServerFailed, reason="manifest_error", message=str(error))


def cmd_up(args: argparse.Namespace) -> int:
    try:
        manifest = load_manifest(args.manifest)
        env, profile = manifest.profile(args.env)
        _require_something_to_run(manifest)
    except ManifestError as e:
        _manifest_failed(args, e)
        raise
    log_format = choose_log_format(args.log_format, profile, sys.stderr)
    # The server owns its output: the CLI only hands it the choices (format, file).
    server = Server(manifest, env=env, log_format=log_format, log_file=args.log_file)
    try:
        web = web_app(manifest, profile, host=args.host, port=args.port)
        exports = exports_plan(server, host=args.host, port=args.port, environ=os.environ)
    except AppError as e:
        server.fail(e)
        raise
    with Interrupts() as interrupts, _one_process(server):
        # A signal during start-up stops it; the server says which one stopped it.
        server.interrupt_cause = interrupts.describe
        set_current(server)
        try:
            return _run(server, interrupts, web, exports)
        finally:
            set_current(None)


def _require_something_to_run(manifest: LoadedManifest) -> None:
    """Without [app] and [modules], `up` would load nothing and watch nothing, for ever."""
    if manifest.manifest.app is None and not manifest.manifest.modules:
        raise ManifestError(
            f"{manifest.path.name}: nothing to run: no [app] and no [modules]; add [app] with "
            "asgi, wsgi or entry (`hotreload init --force` looks for your app), or start the "
            "server in your own process with hotreload.up()"
        )


def _one_process(server: Server) -> AbstractContextManager[None]:
    """A reloading profile refuses worker processes: a reload could never reach them."""
    return refuse_workers(server.env) if server.profile.reload else nullcontext()


def _start(server: Server, web: WebApp | None) -> tuple[Any, socket.socket | None]:
    """Start the server (a failed start has written `server.failed` and stopped); for a web
    app, check the extra and bind first, and import the app before the watcher starts.
    Returns the app object and its socket (None, None without one)."""
    if web is None:
        server.start()
        return None, None
    try:
        require_extra(web)
        sock = bind(web)
    except (AppError, PortInUse) as e:
        server.fail(e)
        raise
    loaded: list[Any] = []
    try:
        server.start(before_watch=lambda: loaded.append(load_app(web, server.manifest.root)))
    except BaseException:
        sock.close()
        raise
    return loaded[0], sock


def _start_exports(server: Server, plan: ExportsPlan | None) -> ExportsService | None:
    """Bind the exports' port (before start-up: a port in use fails before module code runs),
    start the server, then serve the exports on their thread."""
    if plan is None:
        return None
    try:
        sock = bind_exports(plan)
    except (AppError, PortInUse) as e:
        server.fail(e)
        raise
    return ExportsService(server, plan, sock)


def _run(
    server: Server, interrupts: Interrupts, web: WebApp | None, exports: ExportsPlan | None
) -> int:
    """Start, then serve the app, run the entry, or wait, until a signal or the end."""
    service = _start_exports(server, exports)
    try:
        target, sock = _start(server, web)
        if service is not None:
            service.start()
    except BaseException as e:
        if service is not None:
            service.stop()
        if server.started:  # the exports failed to start, or a signal came meanwhile
            if isinstance(e, KeyboardInterrupt):
                server.stop("interrupted", interrupts.describe() or "KeyboardInterrupt raised")
            else:
                server.stop("app_failed", str(e))
        raise

    def stop(reason: StopReason, message: str | None = None) -> None:
        """The exports first: nothing is served once `server.stopped` is written."""
        if service is not None:
            service.stop()
        server.stop(reason, message)

    try:
        return _serve_or_run(server, interrupts, web, target, sock, stop)
    finally:
        if service is not None:
            service.stop()


Stop = Callable[[StopReason, str | None], None]


def _serve_or_run(
    server: Server,
    interrupts: Interrupts,
    web: WebApp | None,
    target: Any,
    sock: socket.socket | None,
    stop: Stop,
) -> int:
    failed: StopReason = "entry_failed" if web is None else "app_failed"
    try:
        if web is not None:
            assert sock is not None
            serve(server, web, target, sock, on_signal=interrupts.note)
        elif server.manifest.manifest.app is None:
            _say_watching(server)
            while not server.wait(timeout=3600):
                pass
            return EXIT_OK
        else:
            server.run_entry()
    except KeyboardInterrupt:
        return _interrupted(interrupts, stop)
    except ServerError as e:  # the entry cannot be imported, the app cannot serve: no traceback
        stop(failed, str(e))
        raise
    except Exception as e:  # the host's own error: its traceback is what the person needs
        traceback.print_exc()
        stop(failed, f"{type(e).__name__}: {e}")
        app = server.manifest.manifest.app
        what = f"[app] entry {app.entry!r}" if app is not None and app.entry else "the app"
        raise EntryError(f"{what} raised {type(e).__name__}: {e}") from e
    if interrupts.arrived is not None:  # the host caught the signal itself, then returned
        return _interrupted(interrupts, stop)
    stop("entry_returned" if web is None else "stopped", None)
    return EXIT_OK


def _interrupted(interrupts: Interrupts, stop: Stop) -> int:
    """A signal (or a KeyboardInterrupt) stopped `up`: a clean stop, at any moment."""
    stop("interrupted", interrupts.describe() or "KeyboardInterrupt raised")
    return EXIT_OK


def _say_watching(server: Server) -> None:
    """Without [app], nothing else tells a person at a terminal that `up` is running, or how to
    end it. A JSON stream on stderr is for machines: `server.started` says it there."""
    if not server.output.stderr or server.output.log_format != "console":
        return
    modules = len(server.manifest.manifest.modules)
    if server.watching:
        doing = (
            f"watching {modules} module(s) and {server.manifest.path.name} for changes "
            f"(env {server.env})"
        )
    else:
        doing = f"{modules} module(s) loaded; env {server.env} does not reload, nothing is watched"
    print(f"hotreload: {doing}; press Ctrl+C to stop", file=sys.stderr, flush=True)


def cmd_check(args: argparse.Namespace) -> int:
    manifest = load_manifest(args.manifest)
    env, profile = manifest.profile(args.env)
    output = EventOutput(choose_log_format(args.log_format, profile, sys.stderr))
    specs = module_specs(manifest)
    failures = check_contract(specs)
    events = EventLog(env, level=profile.log_level, output=output)
    count = sum(emit_violations(events, spec, failure) for spec, failure in failures)
    if failures:
        print(
            f"hotreload check: {count} violation(s) in {len(failures)} of {len(specs)} "
            f"module(s) against {manifest.path.name}",
            file=sys.stderr,
        )
        return EXIT_VIOLATION
    if not specs:
        print(
            f"hotreload check: {manifest.path.name} lists no modules, so there is no contract to "
            "check (every project module the process imports reloads without one)"
        )
        return EXIT_OK
    print(f"hotreload check: {len(specs)} module(s) match {manifest.path.name}")
    return EXIT_OK


def cmd_freeze(args: argparse.Namespace) -> int:
    changes = freeze(args.manifest, args.modules or None)
    for change in changes:
        if change.action == "added":
            print(f"+ {change.module}.{change.function} = {change.new!r}")
        elif change.action == "removed":
            print(f"- {change.module}.{change.function} (was {change.old!r})")
        else:
            print(f"~ {change.module}.{change.function}: {change.old!r} -> {change.new!r}")
    if changes:
        print(f"hotreload freeze: {len(changes)} change(s) written to {args.manifest}")
    else:
        print(f"hotreload freeze: no changes; {args.manifest} matches the source")
    return EXIT_OK


def cmd_init(args: argparse.Namespace) -> int:
    done = init_manifest(
        args.manifest, args.modules, root=args.root, force=args.force, schema=not args.no_schema
    )
    schema = Path(args.manifest).parent / SCHEMA_FILE
    print(f"hotreload init: wrote {args.manifest}" + (f" and {schema}" if done.schema else ""))
    for line in done.report():
        print(f"  {line}")
    if done.modules:
        print("next: `hotreload check` to verify it, then `hotreload up`")
    elif done.app is not None:
        print("next: `hotreload up`")
    else:
        print("next: add [app] (or name modules), then `hotreload up`")
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    directory = Path(args.dir)
    if args.check:
        stale = stale_schemas(directory)
        for path, state in stale:
            _error(f"{path} is {state}; run `hotreload schema --dir {directory}`")
        return EXIT_VIOLATION if stale else EXIT_OK
    for path, written in write_schemas(directory).items():
        print(f"wrote {path}" if written else f"{path} is up to date")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hotreload",
        description="Hot-reload Python modules in a running process, guarded by a contract.",
    )
    parser.add_argument("--version", action="version", version=f"hotreload {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, run: Callable[[argparse.Namespace], int], text: str) -> Any:
        sub = commands.add_parser(name, help=text, description=text)
        sub.set_defaults(run=run)
        return sub

    def manifest_option(sub: Any) -> None:
        sub.add_argument(
            "-m",
            "--manifest",
            default=DEFAULT_MANIFEST,
            metavar="FILE",
            help=f"the manifest (default: ./{DEFAULT_MANIFEST})",
        )

    def env_options(sub: Any) -> None:
        sub.add_argument(
            "--env", metavar="NAME", help="profile (default: $HOTRELOAD_ENV, else default_env)"
        )
        sub.add_argument(
            "--log-format",
            choices=("json", "console"),
            help="how events render on stderr (default: the profile's log_format, else console "
            "on a terminal and json otherwise)",
        )

    up = command("up", cmd_up, "load, check, watch and hot-reload; run or serve the [app] if set")
    manifest_option(up)
    env_options(up)
    up.add_argument(
        "--log-file",
        metavar="FILE",
        help="write every event as a JSON line to this file (instead of the profile's log_file)",
    )
    up.add_argument("--host", help="serve [app] asgi/wsgi on this address (default: the profile's)")
    up.add_argument(
        "--port", type=int, help="serve [app] asgi/wsgi on this port (default: the profile's)"
    )

    check = command("check", cmd_check, "check every module against the manifest (runs no code)")
    manifest_option(check)
    env_options(check)

    freeze_cmd = command("freeze", cmd_freeze, "record current signatures into the manifest")
    manifest_option(freeze_cmd)
    freeze_cmd.add_argument("modules", nargs="*", metavar="MODULE", help="default: all")

    init = command(
        "init",
        cmd_init,
        "write a new manifest: the app found in the source, and these modules with their "
        "exports (none: no contract, every imported module reloads)",
    )
    manifest_option(init)
    init.add_argument(
        "modules",
        nargs="*",
        metavar="MODULE",
        help="a module the host calls, as Python imports it (myapp.pricing) or as its file "
        "(myapp/pricing.py)",
    )
    init.add_argument("--root", default=None, help="where module names resolve (default: .)")
    init.add_argument("--force", action="store_true", help="overwrite an existing manifest")
    init.add_argument(
        "--no-schema",
        action="store_true",
        help=f"do not write {SCHEMA_FILE} beside it, nor the #:schema line",
    )

    schema = command("schema", cmd_schema, "write the JSON Schemas of the manifest and events")
    schema.add_argument("--dir", default="schemas", help="output directory (default: schemas)")
    schema.add_argument("--check", action="store_true", help="exit 1 if the files are stale")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns its exit code (0 ok, 1 contract violated, 2 bad input)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse exits on --help (0) and on bad usage (2)
        return int(e.code or 0)
    try:
        code: int = args.run(args)
        return code
    except (HotreloadError, KeyboardInterrupt) as e:
        if isinstance(e, HotreloadError):
            _error(str(e))
        return exit_code(e)
    finally:
        sys.stdout.flush()


def run() -> None:
    """The `hotreload` console script and `python -m hotreload`: run one command, then exit.

    The process ends here, so the interpreter's last full garbage collection of everything the
    command loaded (a served app's framework: 200-400 ms on a 2-core machine) is skipped
    (`gc.freeze`): it only delays the exit after Ctrl+C, and Python never promised to finalize
    objects still alive at exit. ``main`` alone leaves the collector as it was, for callers
    that go on running.
    """
    code = main()
    gc.freeze()
    raise SystemExit(code)
