from salvage.k8s.conditions import has_condition


def test_only_a_true_condition_of_that_type_counts():
    node = {"status": {"conditions": [{"type": "MemoryPressure", "status": "True"},
                                      {"type": "Ready", "status": "False"}]}}
    assert not has_condition(node, "Ready")
    assert has_condition(node, "MemoryPressure")
    assert not has_condition({}, "Ready") and not has_condition({"status": None}, "Ready")
