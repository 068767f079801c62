from connectors.cassandra.ttl import is_live, oldest_live_valid_from

TTL = 60_000
NOW = 1_700_000_000_000


def test_a_value_exactly_ttl_old_is_live():
    assert is_live(NOW - TTL, NOW, TTL)


def test_a_value_one_ms_older_than_ttl_is_absent():
    assert not is_live(NOW - TTL - 1, NOW, TTL)


def test_fresh_and_future_values_are_live():
    assert is_live(NOW, NOW, TTL)
    assert is_live(NOW - 1, NOW, TTL)
    assert is_live(NOW + 5_000, NOW, TTL)


def test_no_ttl_never_expires():
    for ttl in (None, 0, -1):
        assert is_live(0, NOW, ttl)


def test_range_form_agrees_with_the_rule():
    oldest = oldest_live_valid_from(NOW, TTL)
    for valid_from in range(oldest - 3, oldest + 4):
        assert is_live(valid_from, NOW, TTL) == (valid_from >= oldest)
