"""Audio analysis benchmark: speed on one minute of audio and the full accuracy sweep.

Usage (from the repository root):
    .venv/bin/python bench/audio.py              # speed + sweep + shared media
    .venv/bin/python bench/audio.py --quick      # speed only
    .venv/bin/python bench/audio.py --sweep-only # the accuracy sweep only (no speed, no media)
    .venv/bin/python bench/audio.py --warm-only  # warm speed only (no cold processes, sweep or media)
    .venv/bin/python bench/audio.py --cold       # (internal) one cold run in this process
    .venv/bin/python bench/audio.py --help

Speed: one minute of 48 kHz stereo (drums + chords + espeak speech when available),
pinned to 2 CPU cores; loudness + speech (Silero VAD) + beats through
``audio.analyse_audio``. "warm" = median of 3 runs in a process that already ran once;
"cold" = a fresh process (imports, onnxruntime session, librosa/numba) with an empty
NUMBA_CACHE_DIR, again with the cache filled, and with the cache plus
``audio.warm_up()`` before the first analysis (what a service worker does at start). Silero comes from ``clipzy models
prepare`` into bench/out/models (PyPI needed once).

Sweep: the old set — tempi 70–180 BPM every 5 BPM × 2 variants (swing/jitter/seed), 12 s
each, the backbeat pattern the tracker was first tuned on — and, beside it, the widened
set (``tests.synth.audio.widened_set``: drum-and-bass and broken beats 160–190 BPM,
half-time feels, sparse kicks, dense 16th hats, four-on-the-floor, pads-only and
hats-only intros, chord/pad/pink/white beds at −6..−18 dB, straight and swung) and two
held-out variants of it (tempi moved, other seeds, beds and swing shifted); tempo
correct when within ±2 % (half/double counts as wrong); beat F-measure ±70 ms, no
trimming; tempo-step tracks; music presence on silence / speech / noise.
Results also go to bench/out/audio.json (``--out NAME`` for another file name).
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
    warm = audio.warm_up(models) if "--warm-up" in sys.argv else 0.0  # argv: this is the --cold child
    t1 = time.perf_counter()
    a = audio.analyse_audio(tr, models=models)
    return {"import_s": t_import, "warm_up_s": warm, "first_call_s": time.perf_counter() - t1, "steps": a.timings_s}


def speed(*, cold: bool = True) -> dict:
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
    colds = {}
    if cold:
        colds = _cold_runs()
    f = audio_fields(a)
    return {"warm_total_s": total, "warm_cpu_s": statistics.median(cpu), "warm_steps_s": steps, "cold": colds,
            "detector": a.speech_detector, "silero": have, "tempo_bpm": f["tempo_bpm"],
            "speech_ratio": f["loudness"]["speech_ratio"], "load_avg": os.getloadavg()}


def _cold_runs() -> dict:
    """Fresh processes: empty numba cache, filled cache, filled cache + warm_up()."""
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
    return cold


def _row(t, r, **extra) -> dict:
    """One track's tempo/beat scores (tempo ±2 %, beat and downbeat F ±70 ms)."""
    from tests.synth import audio as S

    est = r.tempo_bpm or 0.0
    alt = getattr(r, "alternative_tempo_bpm", None)
    return {**extra, "bpm": t.bpm, "est": round(est, 2), "ok": abs(est / t.bpm - 1) <= 0.02,
            "octave_error": any(abs(est / t.bpm - m) <= 0.04 for m in (0.5, 2.0, 1 / 3, 3.0, 2 / 3, 1.5)),
            "alt": None if alt is None else round(alt, 2),
            "f": S.beat_f_measure(r.beat_times_s, t.beat_times_s),
            "downbeat_f": S.beat_f_measure(r.downbeat_times_s, t.downbeat_times_s),
            "bpb": r.beats_per_bar, "decision": r.debug.get("decision")}


def sweep() -> dict:
    import numpy as np

    from clipzy.engine.analysis import beats, speech
    from tests.synth import audio as S

    rows = []
    t_beats = 0.0
    for k, bpm in enumerate(range(70, 181, 5)):
        for v in range(2):
            t = S.drum_track(float(bpm), 12.0, swing=((k + v) % 3) / 6, jitter_s=0.01, seed=100 * v + k,
                             offset_s=0.3, chords=(v == 0))
            t0 = time.perf_counter()
            r = beats.analyse_beats(t.audio, sr=t.sr)
            t_beats += time.perf_counter() - t0
            rows.append(_row(t, r, variant=v))
    wide, held = [], []
    for variant in (0, *HELD_OUT_VARIANTS):
        for t in S.widened_set(variant=variant):
            t0 = time.perf_counter()
            r = beats.analyse_beats(t.audio, sr=t.sr)
            t_beats += time.perf_counter() - t0
            (wide if variant == 0 else held).append(_row(t, r, name=t.name, variant=variant))
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
    return {"steady": rows, "widened": wide, "held_out": held, "beats_s": t_beats, "steps": steps, "no_music": nomusic, "vad": vad}


HELD_OUT_VARIANTS = (1, 2)  # widened_set variants swept beside the widened set (other tempi, seeds, beds)
ENHANCE_VOICES = ("plain", "dull", "boost6", "boost10", "broadcast")  # the last three are emphasised
ENHANCE_BEDS = ((None, 0.0),) + tuple((bed, db) for bed in ("music", "pads", "noise", "white") for db in (-10.0, -15.0, -20.0))


def enhance_sweep() -> dict:
    """``enhance_speech`` (and the presence measure) for every voice EQ over every bed and level."""
    from clipzy.engine.analysis import audio
    from clipzy.engine.media import AudioTrack
    from tests.synth import audio as S

    models, _ = _prepare_models()
    rows = []
    for voice in ENHANCE_VOICES:
        for k, (bed, bed_db) in enumerate(ENHANCE_BEDS):
            m = S.speech_mix(4, sr=16000, bed=bed, bed_db=bed_db, seed=k, voice_fx=S.voice_eq(voice))
            if m is None:
                return {"rows": [], "note": "espeak-ng missing"}
            a = audio.analyse_speech(AudioTrack(m[0][:, None], 16000, "mono"), models=models)
            rows.append({"voice": voice, "bed": bed, "bed_db": bed_db, "enhance": a.enhance_speech,
                         "expected": voice in ("boost6", "boost10", "broadcast"),
                         "presence_db": getattr(a, "presence_db", None), "speech_ratio": a.speech_ratio})
    return {"rows": rows}


def _print_enhance(en: dict) -> None:
    rows = en["rows"]
    if not rows:
        print(f"\n== enhance_speech: {en.get('note')} ==")
        return
    right = sum(r["enhance"] == r["expected"] for r in rows)
    print(f"\n== enhance_speech: {len(rows)} reels (5 voice EQs × clean + 4 beds × 3 levels), "
          f"right {right}/{len(rows)} ==")
    heads = ["clean"] + [f"{b}{int(d)}" for b, d in ENHANCE_BEDS[1:]]
    print(f"{'voice':<10}" + "".join(f"{h:>9}" for h in heads))
    for voice in ENHANCE_VOICES:
        cells = []
        for r in (r for r in rows if r["voice"] == voice):
            mark = "T" if r["enhance"] else "F"
            p = r["presence_db"]
            cells.append(f"{mark}{'' if p is None else f'{p:+.1f}'}{'' if r['enhance'] == r['expected'] else '!'}")
        print(f"{voice:<10}" + "".join(f"{c:>9}" for c in cells))
    print("(T/F = enhance_speech, then the presence measure in dB where reported; ! = wrong)")


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


def _set_summary(rows: list[dict]) -> dict:
    fs = [r["f"] for r in rows]
    return {"tracks": len(rows), "tempo_ok": sum(r["ok"] for r in rows) / max(1, len(rows)),
            "octave_errors": sum(r["octave_error"] for r in rows), "no_tempo": sum(r["est"] == 0 for r in rows),
            "f_mean": statistics.mean(fs) if fs else 0.0, "f_min": min(fs) if fs else 0.0,
            "f_ge_095": sum(f >= 0.95 for f in fs), "downbeat_f": statistics.mean(r["downbeat_f"] for r in rows),
            "bpb4": sum(r["bpb"] == 4 for r in rows)}


def _print_speed(s: dict) -> None:
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


def _print_sweep(sw: dict) -> None:
    sets = [_set_summary(sw["steady"]), _set_summary(sw["widened"]), _set_summary(sw["held_out"])]
    print(f"\n== tempo/beat sweep: old set ({sets[0]['tracks']} backbeat tracks 70–180 BPM) beside the widened set "
          f"({sets[1]['tracks']} tracks) and its held-out variants {HELD_OUT_VARIANTS} ({sets[2]['tracks']} tracks) ==")
    print(f"{'':<26}{'old set':>12}{'widened':>12}{'held-out':>12}")
    print(f"{'tempo within ±2 %':<26}" + "".join(f"{x['tempo_ok']:>12.1%}" for x in sets))
    for key, label in (("octave_errors", "octave/ratio errors"), ("no_tempo", "no tempo reported"),
                       ("f_ge_095", "tracks with beat F ≥ 0.95"), ("bpb4", "beats_per_bar = 4")):
        print(f"{label:<26}" + "".join(f"{x[key]:>12}" for x in sets))
    for key, label in (("f_mean", "beat F (±70 ms) mean"), ("f_min", "beat F (±70 ms) worst"),
                       ("downbeat_f", "downbeat F mean")):
        print(f"{label:<26}" + "".join(f"{x[key]:>12.3f}" for x in sets))
    print(f"beat tracking time, all tracks: {sw['beats_s']:.1f} s")
    for r in sw["steady"] + sw["widened"] + sw["held_out"]:
        if not r["ok"] or r["f"] < 0.95:
            print(f"   miss: {r}")
    print("tempo steps (F):         " + ", ".join(f"{x['from']}→{x['to']}: {x['f']:.3f}" for x in sw["steps"]))
    print("music_present on:        " + ", ".join(f"{k}={v}" for k, v in sw["no_music"].items()))
    print("VAD segment F1 / ratio error:")
    for k, v in sw["vad"].items():
        print(f"   {k:<32} F1 {v['f1']:.3f}  ratio err {v['ratio_err']:.3f}")


def _args():
    import argparse

    p = argparse.ArgumentParser(description="Audio analysis benchmark: speed on one minute and the accuracy sweep.")
    p.add_argument("--quick", action="store_true", help="speed only")
    p.add_argument("--sweep-only", action="store_true", help="the accuracy sweep only (no speed, no shared media)")
    p.add_argument("--warm-only", action="store_true", help="warm speed only (no cold processes, sweep or media)")
    p.add_argument("--out", default="audio.json", help="result file name under bench/out")
    p.add_argument("--cold", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--warm-up", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args()


def main() -> None:
    args = _args()
    if args.cold:
        print(json.dumps(cold_run()))
        return
    OUT.mkdir(parents=True, exist_ok=True)
    res: dict = {}
    if not args.sweep_only:
        res["speed"] = speed(cold=not args.warm_only)
        _print_speed(res["speed"])
    if not (args.quick or args.warm_only):
        res["sweep"] = sweep()
        _print_sweep(res["sweep"])
        res["enhance"] = enhance_sweep()
        _print_enhance(res["enhance"])
    if not (args.quick or args.warm_only or args.sweep_only):
        res["shared_media"] = sm = shared_media()
        print("\n== shared media ==")
        for k, v in sm.items():
            print(f"{k}: {json.dumps(v)}")
    (OUT / args.out).write_text(json.dumps(res, indent=2, default=float))


if __name__ == "__main__":
    main()
