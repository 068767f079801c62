"""The one progress meter (skewless.progress.Meter): drawn in place on a terminal, plain lines
in a log, silent when told to be; throttled, with the last draw always made."""

from __future__ import annotations

import io

from skewless.progress import Meter, format_duration


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_line_is_redrawn_with_bar_percent_and_counts():
    drawn = Terminal()
    with Meter("joined", stream=drawn, log_every_s=None) as meter:
        meter(0, 4)
        meter(4, 4)
    text = drawn.getvalue()
    assert "joined:" in text and "0%" in text and "0/4" in text
    assert "100%" in text and "4/4" in text and "\r" in text and text.rstrip("\x1b[?25h").endswith("\n")


def test_silent_off_a_terminal_without_log_lines_or_when_disabled():
    for meter in (Meter("joined", stream=io.StringIO(), log_every_s=None),
                  Meter("joined", stream=Terminal(), enabled=False)):
        with meter:
            meter(0, 4)
            meter(4, 4)
            meter.show("note", force=True)
        assert meter._progress.console.file.getvalue() == ""


def test_redraws_are_throttled_but_the_end_is_always_drawn():
    drawn = Terminal()
    meter = Meter("joined", stream=drawn)
    for done in range(1, 1001):
        meter(done, 1000)
    meter.close()
    assert drawn.getvalue().count("\r") < 20 and "1,000/1,000" in drawn.getvalue()


def test_in_a_log_plain_lines_come_when_forced_and_at_each_end():
    log = io.StringIO()
    meter = Meter("workload", stream=log, log_every_s=3600)
    meter.show("drawing events", force=True)
    meter.show("written 10 events")  # within log_every_s: not printed
    meter.done("wrote 20 events")
    meter.show("next step", force=True)  # a meter goes on after a step ends
    lines = log.getvalue().splitlines()
    assert len(lines) == 3 and all(line.startswith("workload:") for line in lines)
    assert "drawing events" in lines[0] and "wrote 20 events" in lines[1] and "next step" in lines[2]
    assert "\r" not in log.getvalue() and "\x1b" not in log.getvalue()


def test_counted_work_in_a_log_shows_rate_and_the_total():
    log = io.StringIO()
    meter = Meter("produce t", total=1000, stream=log, log_every_s=0.0)
    meter.advance(250)
    elapsed = meter.close()
    assert "250/1,000" in log.getvalue() and "25%" in log.getvalue() and "/s" in log.getvalue()
    assert elapsed >= 0


def test_durations_read_as_clock_times():
    assert format_duration(5) == "0:05" and format_duration(75) == "1:15" and format_duration(3725) == "1:02:05"
