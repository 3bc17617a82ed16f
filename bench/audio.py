"""Audio analysis benchmark: speed on one minute of audio and the full accuracy sweep.

Usage (from the repository root):
    .venv/bin/python bench/audio.py            # speed + sweep + shared media
    .venv/bin/python bench/audio.py --quick    # speed only
    .venv/bin/python bench/audio.py --cold     # (internal) one cold run in this process

Speed: one minute of 48 kHz stereo (drums + chords + espeak speech when available),
pinned to 2 CPU cores; loudness + speech (Silero VAD) + beats through
``audio.analyse_audio``. "warm" = median of 3 runs in a process that already ran once;
"cold" = a fresh process (imports, onnxruntime session, librosa/numba) with an empty
NUMBA_CACHE_DIR, again with the cache filled, and with the cache plus
``audio.warm_up()`` before the first analysis (what a service worker does at start). Silero comes from ``clipzy models
prepare`` into bench/out/models (PyPI needed once).

Sweep: tempi 70–180 BPM every 5 BPM × 2 variants (swing/jitter/seed), 12 s each; tempo
correct when within ±2 % (half/double counts as wrong); beat F-measure ±70 ms, no
trimming; tempo-step tracks; music presence on silence / speech / noise.
Results also go to bench/out/audio.json.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))


def _pin_two_cores() -> None:
    try:
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, cpus[:2])
    except (AttributeError, OSError):
        pass


def _minute():
    import numpy as np

    from clipzy.engine.media import AudioTrack
    from tests.synth import audio as S

    music = S.drum_track(112.0, 60.0, sr=48000, swing=1 / 6, jitter_s=0.01, seed=1).audio
    mix = S.speech_mix(8, sr=48000, gap_s=3.0, lead_s=4.0)
    x = music.copy()
    if mix is not None:
        sp = mix[0][: x.size]
        x[: sp.size] += sp * 0.8
    stereo = np.stack([x, 0.9 * x], axis=1).astype(np.float32)
    return AudioTrack(stereo, 48000, "stereo")


def _prepare_models():
    """(a models registry with silero_vad prepared in bench/out/models, whether that worked)."""
    from clipzy.engine.models import ModelRegistry

    models = ModelRegistry(OUT / "models")
    try:
        models.prepare(["silero_vad"])
        return models, True
    except Exception as exc:  # pragma: no cover - offline
        print(f"(silero_vad unavailable: {exc}; the energy fallback runs)")
        return models, False


def cold_run() -> dict:
    t0 = time.perf_counter()
    _pin_two_cores()
    from clipzy.engine.analysis import audio

    models, _ = _prepare_models()
    t_import = time.perf_counter() - t0
    tr = _minute()
    warm = audio.warm_up(models) if "--warm-up" in sys.argv else 0.0
    t1 = time.perf_counter()
    a = audio.analyse_audio(tr, models=models)
    return {"import_s": t_import, "warm_up_s": warm, "first_call_s": time.perf_counter() - t1, "steps": a.timings_s}


def speed() -> dict:
    _pin_two_cores()
    from clipzy.engine.analysis import audio
    from clipzy.engine.dna import audio_fields

    models, have = _prepare_models()
    tr = _minute()
    audio.analyse_audio(tr, models=models)  # warm-up
    runs = []
    cpu = []
    for _ in range(3):
        c0 = time.process_time()
        t0 = time.perf_counter()
        a = audio.analyse_audio(tr, models=models)
        runs.append((time.perf_counter() - t0, a.timings_s))
        cpu.append(time.process_time() - c0)
    total = statistics.median(r[0] for r in runs)
    steps = {k: statistics.median(r[1][k] for r in runs) for k in runs[0][1]}
    cold = {}
    cached = str(OUT / "numba-cache")
    subprocess.run([sys.executable, __file__, "--cold"], capture_output=True, env=dict(os.environ, NUMBA_CACHE_DIR=cached),
                   cwd=ROOT)  # fills the cache
    for label, cache, extra in (("cold_empty_cache", tempfile.mkdtemp(prefix="numba-"), []),
                                ("cold_cached", cached, []), ("cold_cached_warm_up", cached, ["--warm-up"])):
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        p = subprocess.run([sys.executable, __file__, "--cold", *extra], capture_output=True, text=True, env=env,
                           cwd=ROOT)
        try:
            cold[label] = json.loads(p.stdout.strip().splitlines()[-1])
        except Exception:
            cold[label] = {"error": p.stderr[-500:]}
    f = audio_fields(a)
    return {"warm_total_s": total, "warm_cpu_s": statistics.median(cpu), "warm_steps_s": steps, "cold": cold,
            "detector": a.speech_detector, "silero": have, "tempo_bpm": f["tempo_bpm"],
            "speech_ratio": f["loudness"]["speech_ratio"], "load_avg": os.getloadavg()}


def sweep() -> dict:
    import numpy as np

    from clipzy.engine.analysis import beats, speech
    from tests.synth import audio as S

    rows = []
    for k, bpm in enumerate(range(70, 181, 5)):
        for v in range(2):
            t = S.drum_track(float(bpm), 12.0, swing=((k + v) % 3) / 6, jitter_s=0.01, seed=100 * v + k,
                             offset_s=0.3, chords=(v == 0))
            r = beats.analyse_beats(t.audio, sr=t.sr)
            est = r.tempo_bpm or 0.0
            rows.append({"bpm": bpm, "variant": v, "est": round(est, 2), "ok": abs(est / bpm - 1) <= 0.02,
                         "octave_error": any(abs(est / bpm - m) <= 0.04 for m in (0.5, 2.0, 1 / 3, 3.0, 2 / 3, 1.5)),
                         "f": S.beat_f_measure(r.beat_times_s, t.beat_times_s),
                         "downbeat_f": S.beat_f_measure(r.downbeat_times_s, t.downbeat_times_s),
                         "bpb": r.beats_per_bar})
    steps = []
    for a_, b_ in ((100, 125), (90, 120), (128, 96), (140, 110)):
        t = S.tempo_step_track(float(a_), float(b_), 10.0, jitter_s=0.01, offset_s=0.3, seed=a_)
        r = beats.analyse_beats(t.audio, sr=t.sr)
        steps.append({"from": a_, "to": b_, "f": S.beat_f_measure(r.beat_times_s, t.beat_times_s)})
    nomusic = {}
    cases = {"silence": np.zeros(48000 * 10, np.float32), "white": S.white_noise(10.0), "pink": S.pink_noise(10.0)}
    mix = S.speech_mix(4, sr=48000)
    if mix is not None:
        cases["speech"] = mix[0]
    for name, x in cases.items():
        segs, _ = speech.detect_speech(x, sr=48000)
        nomusic[name] = beats.analyse_beats(x, sr=48000, speech_segments_s=segs).music_present
    vad = {}
    for bed in (None, "music", "noise"):
        m = S.speech_mix(5, sr=16000, bed=bed, bed_db=-10.0)
        if m is None:
            break
        x, truth = m
        for use_model in (True, False):
            segs, name = speech.detect_speech(x, use_model=use_model)
            ratio = speech.speech_ratio(segs, x.size / 16000)
            vad[f"{bed}/{name}"] = {"f1": S.segment_f1(segs, truth),
                                    "ratio_err": abs(ratio - sum(e - s for s, e in truth) / (x.size / 16000))}
    return {"steady": rows, "steps": steps, "no_music": nomusic, "vad": vad}


def shared_media() -> dict:
    from clipzy.engine.analysis import audio
    from clipzy.engine.dna import audio_fields
    from clipzy.engine.media import decode_audio

    media = ROOT.parent / "shared" / "media"
    out = {}
    for name in ("sax.wav", "wannaworktogether.mp4", "bigbuckbunny.mp4", "cockatoo.mp4"):
        p = media / name
        if not p.is_file():
            continue
        a = audio.analyse_audio(decode_audio(p))
        f = audio_fields(a)
        out[name] = {"tempo_bpm": f["tempo_bpm"], "beats": len(f["beats"]["beat_times_ms"]),
                     "beats_per_bar": f["beats"]["beats_per_bar"], "tempo_confidence": f["beats"]["tempo_confidence"],
                     **f["loudness"], **f["audio_style"], "detector": a.speech_detector,
                     "bands": {b: a.beat_band.count(b) for b in ("bass", "mid", "treble")}}
    return out


def main() -> None:
    if "--cold" in sys.argv:
        print(json.dumps(cold_run()))
        return
    OUT.mkdir(parents=True, exist_ok=True)
    res = {"speed": speed()}
    s = res["speed"]
    print("\n== speed: 1 min 48 kHz stereo, 2 cores ==")
    print(f"{'step':<22}{'seconds':>10}")
    for k, v in s["warm_steps_s"].items():
        print(f"{k:<22}{v:>10.3f}")
    print(f"{'warm total (wall)':<22}{s['warm_total_s']:>10.3f}")
    print(f"{'warm total (cpu)':<22}{s['warm_cpu_s']:>10.3f}")
    for k, v in s["cold"].items():
        if "error" in v:
            print(f"{k:<22}  error: {v['error'][-200:]}")
        else:
            print(f"{k:<22}{v['import_s'] + v['warm_up_s'] + v['first_call_s']:>10.3f}  (imports {v['import_s']:.2f}, "
                  f"warm_up() {v['warm_up_s']:.2f}, first analysis {v['first_call_s']:.2f})")
    print(f"detector {s['detector']}, load average {tuple(round(x, 1) for x in s['load_avg'])}")
    if "--quick" not in sys.argv:
        res["sweep"] = sw = sweep()
        rows = sw["steady"]
        ok = sum(r["ok"] for r in rows)
        print(f"\n== tempo/beat sweep: {len(rows)} steady tracks 70–180 BPM ==")
        print(f"tempo within ±2 %        {ok}/{len(rows)} = {ok / len(rows):.1%}")
        print(f"octave/ratio errors      {sum(r['octave_error'] for r in rows)}")
        fs = [r["f"] for r in rows]
        print(f"beat F (±70 ms) mean/min {statistics.mean(fs):.3f} / {min(fs):.3f}  (≥ 0.95: {sum(f >= 0.95 for f in fs)}/{len(fs)})")
        print(f"downbeat F mean          {statistics.mean(r['downbeat_f'] for r in rows):.3f}; beats_per_bar 4: "
              f"{sum(r['bpb'] == 4 for r in rows)}/{len(rows)}")
        for r in rows:
            if not r["ok"] or r["f"] < 0.95:
                print(f"   miss: {r}")
        print("tempo steps (F):         " + ", ".join(f"{x['from']}→{x['to']}: {x['f']:.3f}" for x in sw["steps"]))
        print("music_present on:        " + ", ".join(f"{k}={v}" for k, v in sw["no_music"].items()))
        print("VAD segment F1 / ratio error:")
        for k, v in sw["vad"].items():
            print(f"   {k:<32} F1 {v['f1']:.3f}  ratio err {v['ratio_err']:.3f}")
        res["shared_media"] = sm = shared_media()
        print("\n== shared media ==")
        for k, v in sm.items():
            print(f"{k}: {json.dumps(v)}")
    (OUT / "audio.json").write_text(json.dumps(res, indent=2, default=float))


if __name__ == "__main__":
    main()
