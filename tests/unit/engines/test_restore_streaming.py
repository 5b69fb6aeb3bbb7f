"""Restore reads a backup lazily, so memory does not grow with its size."""


def test_bounded_map_reads_lazily_and_returns_every_result():
    from concurrent.futures import ThreadPoolExecutor

    from salvage.engines.backup_restore import _bounded_map

    consumed = []

    def items():
        for i in range(100):
            consumed.append(i)
            yield i

    with ThreadPoolExecutor(4) as pool:
        results = _bounded_map(pool, lambda i: i * 2, items(), in_flight=8)
        first = next(results)
        assert len(consumed) <= 9, "only a bounded number of items may be read ahead"
        rest = list(results)
    assert sorted([first, *rest]) == [i * 2 for i in range(100)]
