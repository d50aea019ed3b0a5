"""etl.alerts.outbox.retry_delay: how long a failed alert waits, pinned for the default settings."""

from __future__ import annotations

from datetime import timedelta

import pytest

from etl.alerts.outbox import retry_delay
from etl.settings import Settings


@pytest.mark.parametrize(
    ("attempts", "seconds"),
    [
        (0, 60),
        (1, 60),
        (2, 120),
        (3, 240),
        (4, 480),
        (5, 960),
        (6, 1920),
        (7, 3840),
        (8, 7680),
        (9, 15360),
        (10, 21600),  # six hours: the cap
        (11, 21600),
        (5000, 21600),  # far past where doubling a float overflows
    ],
)
def test_a_failed_alert_waits_the_base_doubled_per_attempt_up_to_the_cap(attempts: int, seconds: int) -> None:
    assert retry_delay(Settings(), attempts) == timedelta(seconds=seconds)


def test_the_delays_follow_the_settings() -> None:
    settings = Settings(alert_retry_base_seconds=2.5, alert_retry_max_seconds=30.0)
    assert [retry_delay(settings, n).total_seconds() for n in range(1, 7)] == [2.5, 5, 10, 20, 30, 30]
    assert retry_delay(Settings(alert_retry_base_seconds=0), 9) == timedelta(0)
