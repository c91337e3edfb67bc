"""The ``swingml`` command line: parse, load config, call the pipeline. No logic lives here.

Exit codes (SPEC §11): 0 success; 2 bad input or config, with a message naming the file or key, the
row and the rule (no traceback unless ``--debug``); 1 any other failure.
"""

from __future__ import annotations

import inspect
import json
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, get_type_hints

import click
import typer
from rich.console import Console
from rich.markup import escape

import swingml
from swingml.config import Config, load_config
from swingml.config.redact import redact, redacted_output
from swingml.deploy.profile_check import check_profile
from swingml.errors import BadInputError, SwingmlError
from swingml.io.gcs import RemoteRunStore, is_gcs, open_store
from swingml.io.store import RunStore
from swingml.tuning.stages import STAGES as TUNING_STAGES
from swingml.workflow import pipeline
from swingml.workflow.pipeline import StageContext

app = typer.Typer(
    help="Train, tune, register and serve LightGBM models of what follows crypto swing events.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
data_app = typer.Typer(
    help="Candle data: validate, fetch from Binance, synthesise.", no_args_is_help=True
)
predict_app = typer.Typer(help="Predictions of the champion models.", no_args_is_help=True)
registry_app = typer.Typer(help="The MLflow model registry.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(predict_app, name="predict")
app.add_typer(registry_app, name="registry")
deploy_app = typer.Typer(help="Vertex AI: compile and submit the pipelines.", no_args_is_help=True)
app.add_typer(deploy_app, name="deploy")

err_console = Console(stderr=True)

ProfileOpt = Annotated[
    str | None, typer.Option("--profile", "-p", help="Config profile (configs/profiles/<P>.yaml).")
]
ConfigOpt = Annotated[
    list[Path] | None, typer.Option("--config", "-c", help="Extra config file, layered on top.")
]
RunDirOpt = Annotated[
    str | None,
    typer.Option("--run-dir", help="Run directory (run.dir): a folder or gs://bucket/path."),
]
SetOpt = Annotated[
    list[str] | None, typer.Option("--set", "-s", help="Override: dotted.key=value (repeatable).")
]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")]

SHARED_OPTIONS: dict[str, tuple[Any, Any]] = {
    "profile": (ProfileOpt, None),
    "config": (ConfigOpt, None),
    "run_dir": (RunDirOpt, None),
    "set_": (SetOpt, None),
    "debug": (DebugOpt, False),
}
"""The options every command takes the same way: parameter name -> (annotation, default)."""
ALL_SHARED = tuple(SHARED_OPTIONS)
OFFLINE = ("profile", "set_", "debug")
"""What the commands that touch no run directory take (``deploy``)."""


@dataclass(frozen=True)
class Shared:
    """The values of the shared options, as one command received them."""

    profile: str | None = None
    config: list[Path] | None = None
    run_dir: str | None = None
    set_: list[str] | None = None
    debug: bool = False

    @property
    def sets(self) -> list[str]:
        return list(self.set_ or ())

    def load(self, recorded: bool = True) -> Config:
        """The resolved config: base → the run's recorded config (``recorded``) → profile →
        ``--config`` files → ``--set``; the profile's checks pass before anything runs."""
        return self._resolve(_recorded_config(self.run_dir) if recorded else None)

    def _resolve(self, start: tuple[str, dict[str, Any]] | None) -> Config:
        config = load_config(self.profile, self.config or (), self.sets, self.run_dir, start)
        check_profile(config)
        return config

    def _layers(self, start: str | None) -> str:
        """One line naming what the config was built from, in order: the run's recorded config
        pins the defaults an existing run started with, so a user sees it before a long run."""
        parts = [start or "the defaults (configs/base.yaml)"]
        if self.profile:
            parts.append(f"--profile {self.profile}")
        parts += [f"--config {path}" for path in self.config or ()]
        if self.sets:
            parts.append("--set " + ", ".join(item.partition("=")[0] for item in self.sets))
        return "config: " + ", then ".join(parts)

    def context(self, writes: bool = True) -> StageContext:
        """A stage's context. A command that ``writes`` creates the run directory, says what
        its config was built from and records it in ``manifest.json``; a read-only one leaves
        the directory as is."""
        start = _recorded_config(self.run_dir)
        config = self._resolve(start)
        store = open_store(config.run.dir, config.run.work_dir)
        console = Console(stderr=True)
        if writes:
            console.print(
                self._layers(start[0] if start else None),
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
            store.root.mkdir(parents=True, exist_ok=True)
            store.write_manifest(config.model_dump(mode="json"), {})
        return StageContext(config=config, store=store, console=console)


def command(
    group: typer.Typer, name: str | None = None, shared: Sequence[str] = ALL_SHARED
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register ``fn(opts: Shared, **own)`` as a command of ``group`` taking its own parameters
    and then the ``shared`` options, with errors mapped to exit codes (:func:`_guarded`)."""

    def register(fn: Callable[..., None]) -> Callable[..., None]:
        hints = get_type_hints(fn, include_extras=True)
        own = [
            p.replace(annotation=hints[p.name])
            for p in inspect.signature(fn).parameters.values()
            if p.name != "opts"
        ]
        options = [
            inspect.Parameter(
                n,
                inspect.Parameter.KEYWORD_ONLY,
                default=SHARED_OPTIONS[n][1],
                annotation=SHARED_OPTIONS[n][0],
            )
            for n in shared
        ]

        def wrapper(**kwargs: Any) -> None:
            opts = Shared(**{n: kwargs.pop(n) for n in shared})
            _guarded(opts.debug, lambda: fn(opts, **kwargs))

        params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own] + options
        wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in params}
        wrapper.__name__ = wrapper.__qualname__ = fn.__name__
        wrapper.__doc__ = fn.__doc__
        group.command(name)(wrapper)
        return fn

    return register


def _recorded_config(run_dir: str | None) -> tuple[str, dict[str, Any]] | None:
    """The config an existing run was built with (its ``manifest.json``), if any: read from
    the run directory, or for a ``gs://`` run from its committed manifest."""
    if run_dir is None:
        return None
    if is_gcs(run_dir):
        manifest = RemoteRunStore(run_dir).read_committed("manifest.json") or {}
        manifest.get("config", {}).get("run", {}).pop("work_dir", None)  # this machine's own
    else:
        manifest = RunStore(run_dir).read_manifest()
    if not isinstance(manifest.get("config"), dict):
        return None
    return (f"{run_dir}/manifest.json (the run's recorded config)", manifest["config"])


def _guarded(debug: bool, body: Callable[[], Any]) -> Any:
    """Run a command body, mapping errors to SPEC §11 exit codes and one-line messages; every
    line it prints, errors included, passes through :func:`swingml.config.redact.redact`."""
    with redacted_output():
        return _mapped(debug, body)


def _mapped(debug: bool, body: Callable[[], Any]) -> Any:
    try:
        return body()
    except BadInputError as exc:
        if debug:
            traceback.print_exc()
        err_console.print(
            f"[red]error[/red] (bad input): {escape(redact(str(exc)))}",
            markup=True,
            highlight=False,
        )
        raise typer.Exit(2) from None
    except (typer.Exit, click.exceptions.Exit, click.ClickException):
        raise
    except KeyboardInterrupt:
        err_console.print("interrupted; re-run the same command to resume")
        raise typer.Exit(130) from None
    except Exception as exc:
        if debug:
            traceback.print_exc()
        kind = "" if isinstance(exc, SwingmlError) else f"{type(exc).__name__}: "
        err_console.print(f"[red]error[/red]: {kind}{escape(redact(str(exc)))}", highlight=False)
        if not debug:
            err_console.print("(run again with --debug for the traceback)")
        raise typer.Exit(1) from None


def _through(stage: str, opts: Shared, target: str | None = None, **kwargs: Any) -> None:
    """A stage command: the unfinished stages it depends on, then ``target`` (``module:function``,
    default the stage's own), recorded in ``summary.json``."""
    ctx = opts.context()
    fn = pipeline.stage_fn(target or pipeline.STAGES[stage])
    pipeline.run_through(stage, ctx, lambda c: fn(c, **kwargs))


def _read_only(target: str, opts: Shared, **kwargs: Any) -> None:
    """A command that only reads the run: nothing is written into the run directory."""
    pipeline.stage_fn(target)(opts.context(writes=False), **kwargs)


@command(app)
def run(opts: Shared) -> None:
    """Run the whole workflow, from candles to registered champions (resumable)."""
    ctx = opts.context()
    pipeline.run_all(ctx)
    ctx.console.print(f"run directory: {getattr(ctx.store, 'uri', ctx.store.root)}")


@command(data_app, "validate")
def data_validate(opts: Shared) -> None:
    """Validate the candle files of data.dir (data.symbols x data.interval); report gaps."""
    _through("data_validate", opts, "swingml.stages.data:validate")


@command(data_app, "prepare")
def data_prepare(opts: Shared) -> None:
    """Bring the candles of data.dir into the run, validated (reused while files are unchanged)."""
    _through("data", opts)


@command(data_app, "fetch")
def data_fetch(
    opts: Shared,
    recent: Annotated[
        bool,
        typer.Option(
            "--recent",
            help="Instead: closed bars since each file's last bar, from the REST klines API "
            "(data.fetch.rest_url), appended to <SYMBOL>-<interval>.json[.gz]|.parquet.",
        ),
    ] = False,
) -> None:
    """Download Binance public-data monthly kline zips into data.dir (checksummed, resumable)."""
    target = "swingml.stages.data:fetch_recent" if recent else "swingml.stages.data:fetch"
    _through("data_fetch", opts, target)


@command(data_app, "synth")
def data_synth(opts: Shared) -> None:
    """Write the synthetic market (three coins, planted signal) into the run's candles/."""
    _through("data_synth", opts, "swingml.stages.data:synth")


@command(app)
def features(opts: Shared) -> None:
    """Generate the feature store (five families, cross-coin, multi-timeframe)."""
    _through("features", opts)


@command(app)
def targets(opts: Shared) -> None:
    """Detect swing events and write triple-barrier labels for every variant of the grid."""
    _through("targets", opts)


@command(app)
def prep(opts: Shared) -> None:
    """Apply the label-free feature filters on the development period."""
    _through("prep", opts)


@command(app)
def select(opts: Shared) -> None:
    """Screen features per variant with shallow LightGBM and aggregate the final set."""
    _through("select", opts)


@command(app)
def tune(
    opts: Shared,
    stage: Annotated[
        int | None,
        typer.Option("--stage", min=1, max=len(TUNING_STAGES), help="Run only this tuning stage."),
    ] = None,
) -> None:
    """Run the budgeted tuning stages (or one of them)."""
    if stage is None:
        _through("tune", opts)
    else:
        _through("tune", opts, "swingml.stages.tune:run_stages", numbers=(stage,))


@command(app)
def train(opts: Shared) -> None:
    """Train the 36 production models, score them on the hold-out and register them."""
    _through("train", opts)


@command(app)
def walkforward(opts: Shared) -> None:
    """Replay each champion over the hold-out, refit never / every retrain.every / finer."""
    _through("walkforward", opts, "swingml.stages.walkforward:run")


@command(app)
def retrain(
    opts: Shared,
    force: Annotated[
        bool, typer.Option("--force", help="Promote every challenger, skipping the gate.")
    ] = False,
) -> None:
    """Refit each champion on the newer candles of data.dir; a gate decides whether it serves."""
    ctx = opts.context(writes=False)
    recorded = ctx.store.read_manifest().get("config")
    if not isinstance(recorded, dict):
        raise BadInputError(
            str(ctx.store.root), "no run was built here", "run `swingml run` first, then retrain"
        )
    stage = pipeline.stage_fn("swingml.stages.retrain:check_same_recipe")
    stage(recorded, ctx.config.model_dump(mode="json"))
    ctx.store.write_manifest(ctx.config.model_dump(mode="json"), {})
    fn = pipeline.stage_fn("swingml.stages.retrain:run")
    pipeline.run_stage("retrain", ctx, lambda c: fn(c, force=force))


@command(predict_app, "batch")
def predict_batch(opts: Shared) -> None:
    """Predict every event row of every champion's variant over the whole history."""
    _through("predict_batch", opts)


@command(predict_app, "live")
def predict_live(
    opts: Shared,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow/--once",
            help="--once (default): one cycle, for cron and timers. --follow: a cycle after "
            "each bar close + inference.follow_delay_s until SIGTERM, models kept loaded.",
        ),
    ] = False,
) -> None:
    """Append new closed bars, detect new events, append champion predictions once."""
    if follow:
        pipeline.stage_fn("swingml.stages.predict_live:follow")(opts.context())
    else:
        _through("predict_live", opts, "swingml.stages.predict_live:live")


@command(app)
def monitor(opts: Shared) -> None:
    """Drift, realised performance and service figures of the champions; exit 1 on alert."""
    ctx = opts.context()
    outcome = pipeline.run_stage("monitor", ctx, pipeline.stage_fn("swingml.stages.monitor:run"))
    if outcome.details.get("health") == "alert":
        err_console.print("monitor: status alert (see monitoring/latest.json)")
        raise typer.Exit(1)


NameArg = Annotated[str, typer.Argument(help="Registered model name (see `registry list`).")]
AliasOpt = Annotated[str, typer.Option("--alias", help="The alias to move.")]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (recorded on the version).")]


@command(registry_app, "list")
def registry_list(opts: Shared) -> None:
    """List registered models, their versions, aliases and hold-out metrics."""
    _read_only("swingml.stages.registry:list_models", opts)


@command(registry_app, "versions")
def registry_versions(opts: Shared, name: NameArg) -> None:
    """Every version of a model: hold-out metrics, variant, data fingerprint, aliases."""
    _read_only("swingml.stages.registry:show_versions", opts, name=name)


@command(registry_app, "promote")
def registry_promote(
    opts: Shared,
    name: NameArg,
    version: Annotated[str, typer.Argument(help="The version the alias moves to.")],
    alias: AliasOpt = "champion",
    reason: ReasonOpt = "",
) -> None:
    """Point an alias (champion) at a version; who, when, why and the previous holder are kept."""
    target = "swingml.stages.registry:promote"
    _through(
        "registry_promote", opts, target, name=name, version=version, alias=alias, reason=reason
    )


@command(registry_app, "rollback")
def registry_rollback(
    opts: Shared, name: NameArg, alias: AliasOpt = "champion", reason: ReasonOpt = ""
) -> None:
    """Move an alias (champion) back to the version it replaced."""
    target = "swingml.stages.registry:rollback"
    _through("registry_rollback", opts, target, name=name, alias=alias, reason=reason)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"swingml {swingml.__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Train, tune, register and serve LightGBM models of what follows crypto swing events."""


@command(app)
def report(
    opts: Shared,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="HTML file (default <run-dir>/report/report.html)."),
    ] = None,
    format_: Annotated[
        str,
        typer.Option(
            "--format", help="html: the page, its data and a terminal summary; json: summary.json."
        ),
    ] = "html",
    open_: Annotated[bool, typer.Option("--open", help="Open the page in a browser.")] = False,
) -> None:
    """Write the run's report: one HTML page of plots, its data, a terminal summary (read-only)."""
    from swingml.report import command as report_command

    config = opts.load(recorded=False)
    store = open_store(config.run.dir, config.run.work_dir)  # a gs:// run: its pulled copy
    report_command.run(store.root, output, format_, open_, Console())


OutputOpt = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Training pipeline YAML (the live one is written beside)."),
]


@command(deploy_app, "compile", shared=OFFLINE)
def deploy_compile(opts: Shared, output: OutputOpt = None) -> None:
    """Compile the workflow and the live inference to Kubeflow Pipelines v2 YAML (offline)."""
    from swingml.deploy.compile import compile_pipelines, pipeline_name

    config = load_config(opts.profile, (), opts.sets)
    target = output or Path(f"{pipeline_name(config)}.yaml")
    done = compile_pipelines(config, opts.sets, target)
    typer.echo(f"training pipeline: {done.training}")
    typer.echo(f"live pipeline: {done.live} (schedule: {done.cron} UTC)")
    typer.echo(f"retrain pipeline: {done.retrain} (schedule: {done.retrain_cron} UTC)")


@command(deploy_app, "submit", shared=OFFLINE)
def deploy_submit(
    opts: Shared,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the request as JSON; send nothing.")
    ] = False,
    schedule: Annotated[
        bool, typer.Option("--schedule", help="The live inference schedule instead of a run.")
    ] = False,
    retrain: Annotated[
        bool,
        typer.Option("--retrain", help="The retrain schedule (every retrain.every) instead."),
    ] = False,
) -> None:
    """Submit the workflow to Vertex AI Pipelines (or create the live or retrain schedule)."""
    from swingml.deploy.submit import build, offline_credentials, send

    config = load_config(opts.profile, (), opts.sets)
    credentials = offline_credentials() if dry_run else None
    request = build(config, opts.sets, schedule, credentials, retrain=retrain)
    if dry_run:
        typer.echo(json.dumps(request.body, indent=2, sort_keys=True))
        return
    typer.echo(f"submitted: {send(request, config)}")


def main() -> None:
    """Console-script entry point."""
    try:
        app(standalone_mode=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        sys.exit(code)


if __name__ == "__main__":
    main()
