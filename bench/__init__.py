"""`make bench`: skewless measured against its peers in the same run, reported as ratios.

Each part of the benchmark merges its figures into `bench/results.json` (one flat
object) and regenerates `bench/results.md` and `bench/results.png` from it. This
package holds the streaming-engine part (`python -m bench`, see `bench/engine.py`):
the JVM tile engine against Flink SQL's native OVER windows and a
pass-through ceiling, all three on the same cached input file.
"""
