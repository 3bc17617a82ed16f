"""The clipzy command: init-db, models prepare (--check, the cache warm-up), extract's bad-input exit code."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def clipzy(*args, instance: Path, timeout=300):
    env = {**os.environ, "CLIPZY_INSTANCE_PATH": str(instance)}
    return subprocess.run([sys.executable, "-m", "clipzy.cli", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def test_init_db_is_idempotent(tmp_path):
    r1 = clipzy("init-db", instance=tmp_path)
    r2 = clipzy("init-db", instance=tmp_path)
    assert r1.returncode == 0 and r2.returncode == 0, r1.stderr
    assert "schema version 2" in r2.stdout
    assert (tmp_path / "clipzy.sqlite3").is_file()


def test_routes_and_models_check(tmp_path):
    r = clipzy("routes", instance=tmp_path)
    assert r.returncode == 0 and "/api/v1/jobs" in r.stdout
    r = clipzy("models", "prepare", "--check", instance=tmp_path)
    assert r.returncode == 1 and "transnetv2: missing" in r.stdout and "silero_vad: missing" in r.stdout


def test_extract_bad_input_exits_2_with_one_line(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(os.urandom(4096))
    r = clipzy("extract", str(junk), instance=tmp_path)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and r.stderr.startswith("error: junk.mp4:")
    r = clipzy("extract", str(tmp_path / "missing.mp4"), instance=tmp_path)
    assert r.returncode == 2 and "no such file" in r.stderr
    r = clipzy("apply", "--template", str(junk), "--footage", str(junk), "-o", str(tmp_path / "o.mp4"),
               "--config", json.dumps({"quality": "ultra"}), instance=tmp_path)
    assert r.returncode == 2 and "--config" in r.stderr


def test_models_prepare_fills_the_instance_numba_cache(tmp_path, prepared_models):
    """prepare compiles librosa's kernels into <instance>/cache/numba, so the first job does not."""
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(CLIPZY_INSTANCE_PATH=str(tmp_path), CLIPZY_MODELS_PATH=str(prepared_models))
    r = subprocess.run([sys.executable, "-m", "clipzy.cli", "models", "prepare"], env=env, cwd=ROOT,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    cache = tmp_path / "cache" / "numba"
    assert f"ready in {cache}" in r.stdout, r.stdout
    assert any(cache.rglob("*.nbi")) and any(cache.rglob("*.nbc")), sorted(cache.rglob("*"))[:10]
