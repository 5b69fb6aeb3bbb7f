from salvage.engines.sanitize import sanitize, skip_reason


def _meta(**extra):
    return {"name": "x", "namespace": "wp", "uid": "u", "resourceVersion": "9", "creationTimestamp": "t",
            "managedFields": [{}], "generation": 3, **extra}


def test_server_owned_metadata_and_status_are_dropped():
    out = sanitize({"kind": "ConfigMap", "metadata": _meta(labels={"a": "b"}), "data": {"k": "v"}, "status": {}},
                   namespace_map={}, class_map={})
    assert out == {"kind": "ConfigMap", "metadata": {"name": "x", "namespace": "wp", "labels": {"a": "b"}},
                   "data": {"k": "v"}}


def test_namespace_mapping_moves_objects_and_rewrites_pv_claim_refs():
    cm = sanitize({"kind": "ConfigMap", "metadata": _meta()}, namespace_map={"wp": "wp2"}, class_map={})
    assert cm["metadata"]["namespace"] == "wp2"
    ns = sanitize({"kind": "Namespace", "metadata": {"name": "wp"}, "spec": {"finalizers": ["kubernetes"]}},
                  namespace_map={"wp": "wp2"}, class_map={})
    assert ns == {"kind": "Namespace", "metadata": {"name": "wp2"}}
    pv = sanitize({"kind": "PersistentVolume", "metadata": {"name": "pv1"}, "spec": {
        "storageClassName": "gp2",
        "claimRef": {"namespace": "wp", "name": "data", "uid": "u", "resourceVersion": "1"}}},
        namespace_map={"wp": "wp2"}, class_map={"gp2": "standard"})
    assert pv["spec"]["claimRef"] == {"namespace": "wp2", "name": "data"}
    assert pv["spec"]["storageClassName"] == "standard"


def test_services_lose_allocated_addresses_but_headless_stays_headless():
    svc = sanitize({"kind": "Service", "metadata": _meta(), "spec": {
        "clusterIP": "10.0.0.7", "clusterIPs": ["10.0.0.7"], "type": "NodePort",
        "ports": [{"port": 80, "nodePort": 30080}], "healthCheckNodePort": 31000}}, namespace_map={}, class_map={})
    assert svc["spec"] == {"type": "NodePort", "ports": [{"port": 80}]}
    headless = sanitize({"kind": "Service", "metadata": _meta(), "spec": {"clusterIP": "None", "clusterIPs": ["None"]}},
                        namespace_map={}, class_map={})
    assert headless["spec"]["clusterIP"] == "None"


def test_claims_lose_binding_annotations_and_take_the_class_mapping():
    claim = sanitize({"kind": "PersistentVolumeClaim", "metadata": _meta(annotations={
        "pv.kubernetes.io/bind-completed": "yes", "volume.kubernetes.io/selected-node": "n1", "keep": "me"}),
        "spec": {"storageClassName": "old", "volumeName": "pv1"}}, namespace_map={}, class_map={"old": "new"})
    assert claim["metadata"]["annotations"] == {"keep": "me"}
    assert claim["spec"] == {"storageClassName": "new", "volumeName": "pv1"}


def test_the_input_is_not_modified():
    original = {"kind": "ConfigMap", "metadata": _meta()}
    sanitize(original, namespace_map={"wp": "b"}, class_map={})
    assert original["metadata"]["uid"] == "u" and original["metadata"]["namespace"] == "wp"


def test_skip_reasons():
    owned = {"kind": "Pod", "metadata": {"ownerReferences": [{"kind": "StatefulSet", "controller": True}]}}
    assert "controller" in skip_reason(owned)
    assert skip_reason({"kind": "Pod", "metadata": {"ownerReferences": [{"kind": "X"}]}}) is None
    assert skip_reason({"kind": "Secret", "type": "kubernetes.io/service-account-token", "metadata": {}})
    assert skip_reason({"kind": "ConfigMap", "metadata": {"name": "kube-root-ca.crt"}})
    assert skip_reason({"kind": "ConfigMap", "metadata": {"name": "app"}}) is None
