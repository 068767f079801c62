"""`skewless monitor VIEW`: data quality of a view's history, the last --window days against
the --baseline days before them; exit 3 on a breach.

The view comes from the catalogue (the registry), with its drift thresholds; the Iceberg
catalog from the settings (SKEWLESS_HOME, SKEWLESS_ICEBERG_*), as for `training-set`.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from skewless.monitor.errors import MonitorError
from skewless.options import EPOCH_MS

BREACH_EXIT = 3
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Instant(click.ParamType):
    """Epoch milliseconds, or an ISO 8601 time with its offset (2026-12-01T00:00:00Z)."""

    name = "TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) or str(value).strip().isdigit():
            return EPOCH_MS.convert(value, param, ctx)
        try:
            moment = datetime.fromisoformat(str(value).strip())
        except ValueError:
            self.fail(f"{value!r} is neither epoch milliseconds nor an ISO time such as 2026-12-01T00:00:00Z",
                      param, ctx)
        if moment.tzinfo is None:
            self.fail(f"{value!r} has no timezone: add one, e.g. {value}Z or {value}+01:00", param, ctx)
        return (moment - _EPOCH) // timedelta(milliseconds=1)  # exact, unlike timestamp() * 1000


@click.command()
@click.argument("view", metavar="VIEW[@VERSION]")
@click.option("--baseline", "baseline_days", type=click.IntRange(min=1), default=7, show_default=True, metavar="DAYS",
              help="Days before the window that it is compared with.")
@click.option("--window", "window_days", type=click.IntRange(min=1), default=1, show_default=True, metavar="DAYS",
              help="The most recent days, checked against the baseline.")
@click.option("--as-of", "as_of", type=Instant(), default=None,
              help="End of the window (epoch ms or ISO time with offset); default: now. Rows written "
                   "after it are left out, so a past report reads the same when rerun.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None, metavar="DIR",
              help="Also write an HTML report with PNG plots into this folder.")
@click.option("--quiet", "-q", is_flag=True, help="No progress line.")
def monitor(view: str, baseline_days: int, window_days: int, as_of: int | None, out_dir: Path | None,
            quiet: bool) -> None:
    """Null and missing rates, quantiles, histograms and drift (PSI, Jensen-Shannon) per feature
    of a view's history; exits 3 when a threshold of the view's `drift` is breached."""
    from connectors.iceberg.catalog import CatalogConfig, load_pyiceberg_catalog
    from connectors.iceberg.history import history_identifier
    from pyiceberg.exceptions import NoSuchTableError
    from skewless.monitor.history import monitor_history
    from skewless.monitor.html import write_html
    from skewless.monitor.report import render_text
    from skewless.monitor.scan import Periods
    from skewless.progress import Meter
    from skewless.registry.catalogue import Catalogue
    from skewless.settings import load_settings

    settings = load_settings()
    spec = Catalogue.from_settings(settings).spec(view)
    cfg = CatalogConfig.from_settings(settings)
    try:
        table = load_pyiceberg_catalog(cfg).load_table(history_identifier(cfg.namespace, spec.name))
    except NoSuchTableError:
        raise MonitorError(
            f"view {spec.name} has no history in namespace {cfg.namespace} of the {cfg.describe()}; "
            f"run it first (skewless run --view {spec.name}) or check SKEWLESS_HOME and SKEWLESS_ICEBERG_NAMESPACE"
        ) from None
    periods = Periods(as_of if as_of is not None else int(time.time() * 1000), window_days, baseline_days)
    with Meter(f"monitor {spec.name}@{spec.version}: files read", enabled=False if quiet else None) as meter:
        report = monitor_history(table, spec, periods, progress=meter)
    page = None
    if out_dir is not None:  # first, so that a folder it cannot write is the one line printed
        try:
            page = write_html(report, out_dir)
        except OSError as exc:
            raise MonitorError(f"cannot write the report into {out_dir}: {exc.strerror or exc}; choose another --out") from exc
    click.echo(render_text(report))
    if page is not None:
        click.echo(f"wrote {page}")
    if report.breaches:
        sys.exit(BREACH_EXIT)
