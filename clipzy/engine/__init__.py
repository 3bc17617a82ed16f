"""The Clipzy engine: a plain library (no Flask) that measures Style DNA and applies it.

Modules, each named after what it means to an editor:
media (probe/decode/encode loop), shots (cuts and transitions), color (grade),
motion (camera moves), audio (loudness, beats, tempo), speech (voice activity),
text (on-screen text), dna (assembles the Style DNA), plan (the edit plan),
lut (colour transfer), reframe (crop paths), render (the output MP4), models
(ONNX sessions and `models prepare`), pipeline (the stages the job runner and the
CLI call). Units: float seconds inside the engine; integer milliseconds only where
the Style DNA or the edit plan is written.
"""
