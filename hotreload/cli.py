"""The command line: argv, log set-up, exit codes. The only part that prints or exits."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

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
from hotreload.records import record
from hotreload.words import MANIFEST_SCHEMA_FILE, LogFormat

# Each command imports what it needs when it runs (`check` needs no watcher, `up` without a
# web app no web layer, nothing but `freeze` and `init` the TOML editor): a command pays only
# for its own parts, and `hotreload --help` for none.
if TYPE_CHECKING:
    import socket

    from hotreload.manifest import EnvProfile, LoadedManifest
    from hotreload.process import Interrupts
    from hotreload.server import Server
    from hotreload.verdicts import StopReason
    from hotreload.web.exportserving import ExportsPlan, ExportsService
    from hotreload.web.restart import SaveWatch
    from hotreload.web.serving import WebApp

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


def choose_log_format(explicit: str | None, written: LogFormat | None, stream: TextIO) -> LogFormat:
    """--log-format, else the profile's log_format when the manifest writes one (``written``,
    see `LoadedManifest.written_log_format`), else console on a terminal, else json."""
    if explicit is not None:
        return "json" if explicit == "json" else "console"
    if written is not None:
        return written
    return "console" if stream.isatty() else "json"


def _manifest_failed(args: argparse.Namespace, error: ManifestError) -> None:
    """A manifest that cannot be loaded still gets its event, for whoever reads the log."""
    from hotreload.events import EventLog, ServerFailed
    from hotreload.manifest import resolve_env_name
    from hotreload.output import EventOutput

    output = EventOutput(choose_log_format(args.log_format, None, sys.stderr))
    env = resolve_env_name(args.env, os.environ, "unknown")
    EventLog(env, output=output).emit(ServerFailed, reason="manifest_error", message=str(error))


def cmd_up(args: argparse.Namespace) -> int:
    from hotreload.manifest import load_manifest
    from hotreload.process import Interrupts
    from hotreload.server import Server, set_current
    from hotreload.watcher import end_with_the_process

    if args.process_ends:  # the server's stop is this process's end (`run`)
        end_with_the_process()

    try:
        manifest = load_manifest(args.manifest)
        env, profile = manifest.profile(args.env)
        _require_something_to_run(manifest)
    except ManifestError as e:
        _manifest_failed(args, e)
        raise
    log_format = choose_log_format(args.log_format, manifest.written_log_format(env), sys.stderr)
    app = manifest.manifest.app
    serving = app is not None and (app.asgi is not None or app.wsgi is not None)
    restarted = False
    if serving:
        from hotreload.web.restart import is_restart

        restarted = is_restart()
    # The server owns its output: the CLI only hands it the choices (format, file).
    server = Server(
        manifest,
        env=env,
        log_format=log_format,
        log_file=args.log_file,
        serving=serving,
        restarted=restarted,
    )
    try:
        web = _web_app(manifest, profile, host=args.host, port=args.port)
        exports = _exports_plan(server, host=args.host, port=args.port)
    except AppError as e:
        server.fail(e)
        raise
    listening: socket.socket | None = None
    saves: SaveWatch | None = None
    if serving:
        from hotreload.web.restart import SaveWatch, inherited_socket, restart_since

        listening = inherited_socket()
        # A restart's start-up may fail: then saves since the exec are what it waits for.
        saves = SaveWatch(manifest.root, manifest.path, restart_since()) if restarted else None
    with Interrupts() as interrupts, _one_process(server):
        # A signal during start-up stops it; the server says which one stopped it.
        server.interrupt_cause = interrupts.describe
        set_current(server)
        try:
            return _run(server, interrupts, web, exports, Restart(listening, args.argv, saves))
        except (ServerError, ContractViolation, AppError):
            if saves is None or listening is None or listening.fileno() == -1:
                raise
            # A restart into code that cannot start: keep the address, wait for the next save.
            return _wait_then_restart(saves, listening, args.argv)
        finally:
            set_current(None)
            if saves is not None:
                saves.close()


@record(eq=False)  # never compared: no field-wise __eq__, __hash__ to make
class Restart:
    """What a served app's run needs to restart itself: the socket a restart handed over (or
    None), the command's arguments, and, in a restarted run, the saves it waits for."""

    listening: socket.socket | None = None
    argv: Sequence[str] = ()
    saves: SaveWatch | None = None


def _wait_then_restart(saves: SaveWatch, listening: socket.socket, argv: list[str]) -> int:
    """After a restart's failed start-up (`server.failed` said so, with ``waiting``): the
    process keeps the listening socket (connections wait in its backlog) and runs its command
    again at the next save of a project file; a signal ends it."""
    from hotreload.web.restart import exec_again

    try:
        saves.wait()
    except KeyboardInterrupt:
        return EXIT_OK
    saves.close()
    exec_again(argv, listening)
    return EXIT_OK


def _require_something_to_run(manifest: LoadedManifest) -> None:
    """Without [app] and [modules], `up` would load nothing and watch nothing, for ever."""
    if manifest.manifest.app is None and not manifest.manifest.modules:
        raise ManifestError(
            f"{manifest.path.name}: nothing to run: no [app] and no [modules]; add [app] with "
            "asgi, wsgi or entry (`hotreload init --force` looks for your app), or start the "
            "server in your own process with hotreload.up()"
        )


def _web_app(
    manifest: LoadedManifest, profile: EnvProfile, *, host: str | None, port: int | None
) -> WebApp | None:
    """The ASGI/WSGI app to serve, if the manifest names one (only then is the web layer
    imported: an entry or a watch-only `up` never needs it)."""
    app = manifest.manifest.app
    if app is None or (app.asgi is None and app.wsgi is None):
        return None
    from hotreload.web.serving import web_app

    return web_app(manifest, profile, host=host, port=port)


def _exports_plan(server: Server, *, host: str | None, port: int | None) -> ExportsPlan | None:
    """The exports to serve, if the manifest says `[serve] exports` (only then is the exports
    API imported)."""
    serve = server.manifest.manifest.serve
    if serve is None or not serve.exports:
        return None
    from hotreload.web.exportserving import exports_plan

    return exports_plan(server, host=host, port=port, environ=os.environ)


def _one_process(server: Server) -> AbstractContextManager[None]:
    """A reloading profile refuses worker processes: a reload could never reach them."""
    from hotreload.process import refuse_workers

    return refuse_workers(server.env) if server.profile.reload else nullcontext()


def _start(
    server: Server, web: WebApp | None, listening: socket.socket | None
) -> tuple[Any, socket.socket | None]:
    """Start the server (a failed start has written `server.failed` and stopped); for a web
    app, check the extra and bind first (or take the socket a restart handed over), and import
    the app before the watcher starts. Returns the app object and its socket (None, None
    without one)."""
    if web is None:
        server.start()
        return None, None
    from hotreload.web.serving import bind, factory_restart, load_app, require_extra, served_app

    try:
        require_extra(web)
        sock = listening if listening is not None else bind(web)
    except (AppError, PortInUse) as e:
        server.fail(e)
        raise
    loaded: list[Any] = []
    if web.factory:
        module, restart = factory_restart(web)
        server.restart_when_changed(module, restart)
        server.ran_once(module, web.path.rpartition(":")[2], "the [app] factory")
    else:
        server.pin(*served_app(web))
    try:
        server.start(before_watch=lambda: loaded.append(load_app(web, server.manifest.root)))
    except BaseException:
        if sock is not listening:
            sock.close()  # a handed-over socket stays open: a failed restart waits on it
        raise
    return loaded[0], sock


def _start_exports(server: Server, plan: ExportsPlan | None) -> ExportsService | None:
    """Bind the exports' port (before start-up: a port in use fails before module code runs),
    start the server, then serve the exports on their thread."""
    if plan is None:
        return None
    from hotreload.web.exportserving import ExportsService, bind_exports

    try:
        sock = bind_exports(plan)
    except (AppError, PortInUse) as e:
        server.fail(e)
        raise
    return ExportsService(server, plan, sock)


def _run(
    server: Server,
    interrupts: Interrupts,
    web: WebApp | None,
    exports: ExportsPlan | None,
    restart: Restart,
) -> int:
    """Start, then serve the app, run the entry, or wait, until a signal or the end."""
    service = _start_exports(server, exports)
    try:
        target, sock = _start(server, web, restart.listening)
        if restart.saves is not None:
            restart.saves.close()  # started: saves are the reloader's again
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
        return _serve_or_run(server, interrupts, web, target, sock, stop, restart.argv)
    finally:
        if service is not None:
            service.stop()


Stop = Callable[["StopReason", "str | None"], None]


def _serve_or_run(
    server: Server,
    interrupts: Interrupts,
    web: WebApp | None,
    target: Any,
    sock: socket.socket | None,
    stop: Stop,
    argv: Sequence[str] = (),
) -> int:
    failed: StopReason = "entry_failed" if web is None else "app_failed"
    try:
        if web is not None:
            from hotreload.web.restart import Restarter, exec_again
            from hotreload.web.serving import serve

            restarter = Restarter(server.events)

            assert sock is not None
            server.on_restart_needed(restarter.request)
            with sock.dup() as kept:  # uvicorn closes the socket it served on; a restart needs it
                serve(
                    server,
                    web,
                    target,
                    sock,
                    on_signal=interrupts.note,
                    on_serving=restarter.attach,
                )
                if restarter.cause is not None and interrupts.arrived is None:
                    # `server.restarting` said why; no exports serve beside an app ([serve]).
                    server.stop(say=False)  # the log file is flushed and closed
                    exec_again(argv, kept)
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
        import traceback

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
    from hotreload.checking import check_contract, emit_violations, module_specs
    from hotreload.events import EventLog
    from hotreload.manifest import load_manifest
    from hotreload.output import EventOutput

    manifest = load_manifest(args.manifest, revalidate=True)  # the check validates, always
    env, profile = manifest.profile(args.env)
    output = EventOutput(
        choose_log_format(args.log_format, manifest.written_log_format(env), sys.stderr)
    )
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
    from hotreload.freeze import freeze

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
    from hotreload.init import SCHEMA_FILE, init_manifest

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
    from hotreload.schema import stale_schemas, write_schemas

    directory = Path(args.dir)
    if args.check:
        stale = stale_schemas(directory)
        for path, state in stale:
            _error(f"{path} is {state}; run `hotreload schema --dir {directory}`")
        return EXIT_VIOLATION if stale else EXIT_OK
    for path, written in write_schemas(directory).items():
        print(f"wrote {path}" if written else f"{path} is up to date")
    return EXIT_OK


class _VersionAction(argparse.Action):
    """--version: the installed version, looked up only when asked (reading the package's
    metadata costs more than the rest of the parser)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        kwargs.setdefault("help", "show program's version number and exit")
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_args: Any, **_kwargs: Any) -> None:
        import hotreload

        print(f"hotreload {hotreload.__version__}")
        parser.exit()


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's own formatter, told the terminal's width. argparse makes a formatter at every
    `add_argument` (only to check the argument's metavar), and one left to find the width
    itself imports `shutil` for it (with bz2, lzma and zlib): 6 M instructions, about 1.5 ms of
    every command, for a width that matters only when help or an error is printed."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=_terminal_columns() - 2)  # less 2, as argparse does


def _terminal_columns() -> int:
    """What `shutil.get_terminal_size().columns` says: $COLUMNS, else the width of the
    terminal on stdout, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0 and sys.__stdout__ is not None:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (ValueError, OSError):  # not a terminal, or closed
            columns = 0
    return columns if columns > 0 else 80


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hotreload",
        description="Hot-reload Python modules in a running process, guarded by a contract.",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--version", action=_VersionAction)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, run: Callable[[argparse.Namespace], int], text: str) -> Any:
        sub = commands.add_parser(name, help=text, description=text, formatter_class=_HelpFormatter)
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
        help=f"do not write {MANIFEST_SCHEMA_FILE} beside it, nor the #:schema line",
    )

    schema = command("schema", cmd_schema, "write the JSON Schemas of the manifest and events")
    schema.add_argument("--dir", default="schemas", help="output directory (default: schemas)")
    schema.add_argument("--check", action="store_true", help="exit 1 if the files are stale")
    return parser


def main(argv: Sequence[str] | None = None, *, process_ends: bool = False) -> int:
    """Run one command; returns its exit code (0 ok, 1 contract violated, 2 bad input).
    ``process_ends``: the process exits once the command returns (`run`)."""
    parser = build_parser()
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(arguments)
    except SystemExit as e:  # argparse exits on --help (0) and on bad usage (2)
        return int(e.code or 0)
    args.argv = arguments  # a restart runs the very same command
    args.process_ends = process_ends
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
    that go on running, and closes everything `up` started at its stop (here the kernel's
    teardown of the file watch is left to the exit: `end_with_the_process`).
    """
    code = main(process_ends=True)
    gc.freeze()
    raise SystemExit(code)
