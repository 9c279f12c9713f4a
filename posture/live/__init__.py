"""The live run: sample blocks in, steps, form events, live angles and a run summary out, to any sinks.

Shared by `posture run`, `posture replay`, `posture demo` and the tests; nothing here imports from
`posture.commands`.
"""
