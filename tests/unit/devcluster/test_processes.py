import subprocess
import sys
import time

import pytest

from salvage.devcluster import processes
from salvage.devcluster.processes import ProcessRecord
from tests.support.waiting import wait_for


def test_spawn_records_identity_and_stop_ends_it(tmp_path):
    record = processes.spawn([sys.executable, "-c", "import time; time.sleep(60)"], tmp_path / "log")
    assert processes.is_alive(record)
    processes.stop(record, grace=5)
    assert not processes.is_alive(record)
    assert "$ " in (tmp_path / "log").read_text()


def test_a_reused_pid_with_another_start_time_is_not_ours():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        real = ProcessRecord(proc.pid, processes._start_time(proc.pid) or 0)
        impostor = ProcessRecord(proc.pid, real.start_time + 1)
        assert processes.is_alive(real)
        assert not processes.is_alive(impostor)
        processes.stop(impostor)  # must not signal someone else's process
        with pytest.raises(subprocess.TimeoutExpired):  # a SIGTERM would end it well within this
            proc.wait(timeout=2)
    finally:
        proc.kill()
        proc.wait()


def test_free_ports_are_distinct_and_bindable():
    ports = processes.free_ports(5)
    assert len(set(ports)) == 5
    assert not any(processes.port_in_use(p) for p in ports)


def test_port_in_use_detects_a_listener():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        assert processes.port_in_use(sock.getsockname()[1])


def test_kill_ends_a_process_that_ignores_sigterm_at_once(tmp_path):
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"
    record = processes.spawn([sys.executable, "-c", stubborn], tmp_path / "log")
    wait_for(lambda: "ready" in (tmp_path / "log").read_text(), timeout=30, interval=0.02,
             what="the stubborn process to ignore SIGTERM")
    started = time.monotonic()
    processes.kill(record)
    assert not processes.is_alive(record)
    # stop() would wait out its 10 s grace for this process; kill must not wait at all.
    assert time.monotonic() - started < 5
