"""`skewless monitor VIEW`: data quality of a view's Iceberg history, a recent window against a
baseline: null and missing rates, quantiles and histograms by KLL sketch, drift as PSI and
Jensen-Shannon over shared bins, checked against the view's `drift` thresholds.

scan (pruned, streamed reads) -> sketches (bounded-memory summaries) -> drift (PSI, JS) ->
report (verdicts, the text table) -> html (plots). docs/monitoring.md says what each number is.
"""
