"""The ``swingml`` command line: parse, load config, call the pipeline. No logic lives here.

Exit codes (SPEC §11): 0 success; 2 bad input or config, with a message naming the file or key, the
row and the rule (no traceback unless ``--debug``); 1 any other failure.
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console

import swingml
from swingml import pipeline
from swingml.config import load_config
from swingml.deploy.profile_check import check_profile
from swingml.errors import BadInputError, NotBuiltError, SwingmlError
from swingml.gcs_store import is_gcs, open_store
from swingml.pipeline import StageContext, StageOutcome
from swingml.store import RunStore

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


def _recorded_config(run_dir: str | None) -> tuple[str, dict[str, Any]] | None:
    """The config an existing local run was built with (``manifest.json``), if any.

    A ``gs://`` run's manifest is read once its working copy is pulled, not here.
    """
    if run_dir is None or is_gcs(run_dir):
        return None
    manifest = RunStore(run_dir).read_manifest()
    if not isinstance(manifest.get("config"), dict):
        return None
    return (f"{run_dir}/manifest.json (the run's recorded config)", manifest["config"])


def _context(
    profile: str | None, configs: list[Path] | None, run_dir: str | None, sets: list[str] | None
) -> StageContext:
    config = load_config(profile, configs or (), sets or (), run_dir, _recorded_config(run_dir))
    check_profile(config)
    store = open_store(config.run.dir, config.run.work_dir)
    store.root.mkdir(parents=True, exist_ok=True)
    store.write_manifest(config.model_dump(mode="json"), {})
    return StageContext(config=config, store=store, console=Console(stderr=True))


def _guarded(debug: bool, body: Callable[[], Any]) -> Any:
    """Run a command body, mapping errors to SPEC §11 exit codes and one-line messages."""
    try:
        return body()
    except BadInputError as exc:
        if debug:
            traceback.print_exc()
        err_console.print(f"[red]error[/red] (bad input): {exc}", markup=True, highlight=False)
        raise typer.Exit(2) from None
    except NotBuiltError as exc:
        err_console.print(f"[yellow]not built[/yellow]: {exc}", highlight=False)
        raise typer.Exit(1) from None
    except (typer.Exit, click.exceptions.Exit, click.ClickException):
        raise
    except KeyboardInterrupt:
        err_console.print("interrupted; re-run the same command to resume")
        raise typer.Exit(130) from None
    except Exception as exc:
        if debug:
            traceback.print_exc()
        kind = "" if isinstance(exc, SwingmlError) else f"{type(exc).__name__}: "
        err_console.print(f"[red]error[/red]: {kind}{exc}", highlight=False)
        if not debug:
            err_console.print("(run again with --debug for the traceback)")
        raise typer.Exit(1) from None


def _stage_command(
    stage: str,
    profile: str | None,
    configs: list[Path] | None,
    run_dir: str | None,
    sets: list[str] | None,
    debug: bool,
    fn: Callable[[StageContext], StageOutcome] | None = None,
) -> None:
    def body() -> None:
        ctx = _context(profile, configs, run_dir, sets)
        target = fn if fn is not None else pipeline.resolve(pipeline.STAGES[stage])
        pipeline.run_through(stage, ctx, target)

    _guarded(debug, body)


def _stage_fn(target: str) -> Callable[[StageContext], StageOutcome]:
    """Resolve lazily so ``--help`` works even where a stage is not built."""

    def call(ctx: StageContext) -> StageOutcome:
        return pipeline.resolve(target)(ctx)

    return call


@app.command()
def run(
    profile: ProfileOpt = None,
    config: ConfigOpt = None,
    run_dir: RunDirOpt = None,
    set_: SetOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Run the whole workflow, from candles to registered champions (resumable)."""

    def body() -> None:
        ctx = _context(profile, config, run_dir, set_)
        pipeline.run_all(ctx)
        ctx.console.print(f"run directory: {getattr(ctx.store, 'uri', ctx.store.root)}")

    _guarded(debug, body)


@data_app.command("validate")
def data_validate(
    profile: ProfileOpt = None,
    config: ConfigOpt = None,
    run_dir: RunDirOpt = None,
    set_: SetOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Validate the candle files of data.dir (data.symbols x data.interval); report gaps."""
    _stage_command(
        "data_validate",
        profile,
        config,
        run_dir,
        set_,
        debug,
        _stage_fn("swingml.stages.data:validate"),
    )


@data_app.command("prepare")
def data_prepare(
    profile: ProfileOpt = None,
    config: ConfigOpt = None,
    run_dir: RunDirOpt = None,
    set_: SetOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Bring the candles of data.dir into the run, validated (reused while files are unchanged)."""
    _stage_command("data", profile, config, run_dir, set_, debug)


@data_app.command("fetch")
def data_fetch(
    recent: Annotated[
        bool,
        typer.Option(
            "--recent",
            help="Instead: closed bars since each file's last bar, from the REST klines API "
            "(data.fetch.rest_url), appended to <SYMBOL>-<interval>.json[.gz]|.parquet.",
        ),
    ] = False,
    profile: ProfileOpt = None,
    config: ConfigOpt = None,
    run_dir: RunDirOpt = None,
    set_: SetOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Download Binance public-data monthly kline zips into data.dir (checksummed, resumable)."""
    target = "swingml.stages.data:fetch_recent" if recent else "swingml.stages.data:fetch"
    _stage_command("data_fetch", profile, config, run_dir, set_, debug, _stage_fn(target))


@data_app.command("synth")
def data_synth(
    profile: ProfileOpt = None,
    config: ConfigOpt = None,
    run_dir: RunDirOpt = None,
    set_: SetOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Write the synthetic market (three coins, planted signal) into the run's candles/."""
    _stage_command(
        "data_synth", profile, config, run_dir, set_, debug, _stage_fn("swingml.stages.data:synth")
    )


@app.command()
def features(
    profile: ProfileOpt = None,
    config: ConfigOpt = None,
    run_dir: RunDirOpt = None,
    set_: SetOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Generate the feature store (five families, cross-coin, multi-timeframe)."""
    _stage_command("features", profile, config, run_dir, set_, debug)


@app.command()
def targets(
    profile: ProfileOpt = None,
    config: ConfigOpt = None,
    run_dir: RunDirOpt = None,
    set_: SetOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Detect swing events and write triple-barrier labels for every variant of the grid."""
    _stage_command("targets", profile, config, run_dir, set_, debug)


@app.command()
def prep(
    profile: ProfileOpt = None,
    config: ConfigOpt = None,
    run_dir: RunDirOpt = None,
    set_: SetOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Apply the label-free feature filters on the development period."""
    _stage_command("prep", profile, config, run_dir, set_, debug)


@app.command()
def select(
    profile: ProfileOpt = None,
    config: ConfigOpt = None,
    run_dir: RunDirOpt = None,
    set_: SetOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Screen features per variant with shallow LightGBM and aggregate the final set."""
    _stage_command("select", profile, config, run_dir, set_, debug)


@app.command()
def tune(
    stage: Annotated[
        int | None, typer.Option("--stage", min=1, max=4, help="Run only this tuning stage (1-4).")
    ] = None,
    profile: ProfileOpt = None,
    config: ConfigOpt = None,
    run_dir: RunDirOpt = None,
    set_: SetOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Run the four budgeted tuning stages (or one of them)."""
    fn = _stage_fn("swingml.stages.tune:run") if stage is None else _tune_stage(stage)
    _stage_command("tune", profile, config, run_dir, set_, debug, fn)


def _tune_stage(number: int) -> Callable[[StageContext], StageOutcome]:
    """``swingml tune --stage N``: that stage of ``tuning.stages.STAGES`` alone."""

    def run(ctx: StageContext) -> StageOutcome:
        from swingml.stages.tune import run_stages

        return run_stages(ctx, (number,))

    return run


@app.command()
def train(
    profile: ProfileOpt = None,
    config: ConfigOpt = None,
    run_dir: RunDirOpt = None,
    set_: SetOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Train the 36 production models, score them on the hold-out and register them."""
    _stage_command("train", profile, config, run_dir, set_, debug)


@predict_app.command("batch")
def predict_batch(
    profile: ProfileOpt = None,
    config: ConfigOpt = None,
    run_dir: RunDirOpt = None,
    set_: SetOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Predict every event row of every champion's variant over the whole history."""
    _stage_command(
        "predict_batch",
        profile,
        config,
        run_dir,
        set_,
        debug,
        _stage_fn("swingml.stages.predict:batch"),
    )


@predict_app.command("live")
def predict_live(
    follow: Annotated[
        bool,
        typer.Option(
            "--follow/--once",
            help="--once (default): one cycle, for cron and timers. --follow: a cycle after "
            "each bar close + inference.follow_delay_s until SIGTERM, models kept loaded.",
        ),
    ] = False,
    profile: ProfileOpt = None,
    config: ConfigOpt = None,
    run_dir: RunDirOpt = None,
    set_: SetOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Append new closed bars, detect new events, append champion predictions once."""
    if not follow:
        _stage_command(
            "predict_live",
            profile,
            config,
            run_dir,
            set_,
            debug,
            _stage_fn("swingml.stages.predict_live:live"),
        )
        return

    def body() -> None:
        ctx = _context(profile, config, run_dir, set_)
        pipeline.resolve("swingml.stages.predict_live:follow")(ctx)

    _guarded(debug, body)


@app.command()
def monitor(
    profile: ProfileOpt = None,
    config: ConfigOpt = None,
    run_dir: RunDirOpt = None,
    set_: SetOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Drift, realised performance and service figures of the champions; exit 1 on alert."""

    def body() -> None:
        ctx = _context(profile, config, run_dir, set_)
        outcome = pipeline.run_stage("monitor", ctx, _stage_fn("swingml.stages.monitor:run"))
        if outcome.details.get("health") == "alert":
            err_console.print("monitor: status alert (see monitoring/latest.json)")
            raise typer.Exit(1)

    _guarded(debug, body)


@registry_app.command("list")
def registry_list(
    profile: ProfileOpt = None,
    config: ConfigOpt = None,
    run_dir: RunDirOpt = None,
    set_: SetOpt = None,
    debug: DebugOpt = False,
) -> None:
    """List registered models, their versions, aliases and hold-out metrics."""
    _stage_command(
        "registry_list",
        profile,
        config,
        run_dir,
        set_,
        debug,
        _stage_fn("swingml.stages.registry:list_models"),
    )


def _registry_op(op: str, **kwargs: Any) -> Callable[[StageContext], StageOutcome]:
    """A ``swingml.stages.registry`` operation bound to its command-line arguments."""

    def call(ctx: StageContext) -> StageOutcome:
        fn: Callable[..., StageOutcome] = pipeline.resolve(f"swingml.stages.registry:{op}")
        return fn(ctx, **kwargs)

    return call


NameArg = Annotated[str, typer.Argument(help="Registered model name (see `registry list`).")]
AliasOpt = Annotated[str, typer.Option("--alias", help="The alias to move.")]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (recorded on the version).")]


@registry_app.command("versions")
def registry_versions(
    name: NameArg,
    profile: ProfileOpt = None,
    config: ConfigOpt = None,
    run_dir: RunDirOpt = None,
    set_: SetOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Every version of a model: hold-out metrics, variant, data fingerprint, aliases."""
    fn = _registry_op("show_versions", name=name)
    _stage_command("registry_versions", profile, config, run_dir, set_, debug, fn)


@registry_app.command("promote")
def registry_promote(
    name: NameArg,
    version: Annotated[str, typer.Argument(help="The version the alias moves to.")],
    alias: AliasOpt = "champion",
    reason: ReasonOpt = "",
    profile: ProfileOpt = None,
    config: ConfigOpt = None,
    run_dir: RunDirOpt = None,
    set_: SetOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Point an alias (champion) at a version; who, when, why and the previous holder are kept."""
    fn = _registry_op("promote", name=name, version=version, alias=alias, reason=reason)
    _stage_command("registry_promote", profile, config, run_dir, set_, debug, fn)


@registry_app.command("rollback")
def registry_rollback(
    name: NameArg,
    alias: AliasOpt = "champion",
    reason: ReasonOpt = "",
    profile: ProfileOpt = None,
    config: ConfigOpt = None,
    run_dir: RunDirOpt = None,
    set_: SetOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Move an alias (champion) back to the version it replaced."""
    fn = _registry_op("rollback", name=name, alias=alias, reason=reason)
    _stage_command("registry_rollback", profile, config, run_dir, set_, debug, fn)


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


@app.command()
def report(
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
    profile: ProfileOpt = None,
    config: ConfigOpt = None,
    run_dir: RunDirOpt = None,
    set_: SetOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Write the run's report: one HTML page of plots, its data, a terminal summary (read-only)."""

    def body() -> None:
        from swingml.report import command

        resolved = load_config(profile, config or (), set_ or (), run_dir)
        check_profile(resolved)
        command.run(Path(resolved.run.dir), output, format_, open_, Console())

    _guarded(debug, body)


OutputOpt = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Training pipeline YAML (the live one is written beside)."),
]


@deploy_app.command("compile")
def deploy_compile(
    profile: ProfileOpt = None,
    output: OutputOpt = None,
    set_: SetOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Compile the workflow and the live inference to Kubeflow Pipelines v2 YAML (offline)."""

    def body() -> None:
        from swingml.deploy.compile import compile_pipelines, pipeline_name

        config = load_config(profile, (), set_ or ())
        target = output or Path(f"{pipeline_name(config)}.yaml")
        done = compile_pipelines(config, set_ or (), target)
        typer.echo(f"training pipeline: {done.training}")
        typer.echo(f"live pipeline: {done.live} (schedule: {done.cron} UTC)")

    _guarded(debug, body)


@deploy_app.command("submit")
def deploy_submit(
    profile: ProfileOpt = None,
    set_: SetOpt = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the request as JSON; send nothing.")
    ] = False,
    schedule: Annotated[
        bool, typer.Option("--schedule", help="The live inference schedule instead of a run.")
    ] = False,
    debug: DebugOpt = False,
) -> None:
    """Submit the workflow to Vertex AI Pipelines (or create the live schedule)."""

    def body() -> None:
        from swingml.deploy.submit import build, offline_credentials, send

        config = load_config(profile, (), set_ or ())
        credentials = offline_credentials() if dry_run else None
        request = build(config, set_ or (), schedule, credentials)
        if dry_run:
            typer.echo(json.dumps(request.body, indent=2, sort_keys=True))
            return
        typer.echo(f"submitted: {send(request, config)}")

    _guarded(debug, body)


def main() -> None:
    """Console-script entry point."""
    try:
        app(standalone_mode=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        sys.exit(code)


if __name__ == "__main__":
    main()
