"""The report as one HTML page with PNG plots beside it, for people without a dashboard:
per feature, the baseline's and the window's histograms on shared axes, and PSI and JS as
bars against their thresholds."""

from __future__ import annotations

import html
from pathlib import Path

from skewless.monitor.report import FeatureReport, ViewReport, histogram, render_text


def _plot_feature(feature: FeatureReport, limits: dict[str, float | None], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only: no display, whatever the environment says
    import matplotlib.pyplot as plt

    fig, (hist_ax, drift_ax) = plt.subplots(1, 2, figsize=(10, 3.2), width_ratios=(3, 1))
    bins = histogram(feature)
    if bins is not None:
        edges, baseline, window = bins
        width = edges[1] - edges[0]
        hist_ax.bar(edges[:-1], baseline, width=width, align="edge", alpha=0.5, label="baseline")
        hist_ax.bar(edges[:-1], window, width=width, align="edge", alpha=0.5, label="window")
        hist_ax.legend()
    hist_ax.set_title(f"{feature.label}: share of updates")
    if feature.drift is not None:
        measures = ("psi", "js")
        values = (feature.drift.psi, feature.drift.js)
        colors = ["tab:red" if limits[m] is not None and v > limits[m] else "tab:green" for m, v in zip(measures, values)]
        drift_ax.bar(measures, values, color=colors)
        for i, m in enumerate(measures):
            if limits[m] is not None:
                drift_ax.hlines(limits[m], i - 0.4, i + 0.4, colors="black", linestyles="dashed")
    drift_ax.set_title("drift (dashed: threshold)")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def write_html(report: ViewReport, folder: Path) -> Path:
    """Write `index.html` and one PNG per feature into `folder`; the page's path."""
    folder.mkdir(parents=True, exist_ok=True)
    sections = []
    for feature in report.features:
        png = f"{feature.name}.png"
        _plot_feature(feature, report.thresholds, folder / png)
        verdict = "; ".join(feature.breaches) or "ok"
        sections.append(
            f"<h2>{html.escape(feature.label)}</h2><p>{html.escape(verdict)}</p>"
            f'<img src="{html.escape(png)}" alt="{html.escape(feature.label)}">'
        )
    title = f"skewless monitor: {report.view}"
    page = (
        f"<!doctype html><html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title></head><body>"
        f"<h1>{html.escape(title)}</h1><pre>{html.escape(render_text(report))}</pre>{''.join(sections)}</body></html>\n"
    )
    path = folder / "index.html"
    path.write_text(page)
    return path
