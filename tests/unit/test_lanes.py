"""tests/lanes.py: the background lanes the Molecule scenarios run in (real subprocesses, short ones)."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from lanes import Job, Lanes  # noqa: E402

# Each job appends "start NAME" and "end NAME" to a shared file, a little apart.
SCRIPT = 'echo "start $1" >> "$2"; sleep 0.3; echo "end $1" >> "$2"; exit "$3"'


def jobs(tmp_path, names, exclusive=(), rc=None):
    trace = str(tmp_path / "trace")
    return trace, [Job(n, ["bash", "-c", SCRIPT, "-", n, trace, str((rc or {}).get(n, 0))], dict(os.environ), str(tmp_path),
                       str(tmp_path / ("%s.log" % n)), timeout=30, exclusive=n in exclusive) for n in names]


def events(trace):
    with open(trace) as f:
        return f.read().split("\n")[:-1]


def test_two_lanes_overlap_and_results_come_back(tmp_path):
    trace, js = jobs(tmp_path, ["a", "b", "c", "d"], rc={"c": 3})
    lanes = Lanes(js, lanes=2)
    lanes.start()
    assert [lanes.result(n).returncode for n in "abcd"] == [0, 0, 3, 0]
    ev = events(trace)
    assert ev.index("start b") < ev.index("end a")  # b ran beside a
    assert oct(os.stat(str(tmp_path / "a.log")).st_mode & 0o777) == "0o600"
    assert lanes.result("a").seconds >= 0.3


def test_second_lane_waits_for_release(tmp_path):
    trace, js = jobs(tmp_path, ["a", "b"])
    lanes = Lanes(js, lanes=2)
    lanes.start()
    time.sleep(0.15)
    assert events(trace) == ["start a"]  # lane 2 has not taken b
    assert lanes.result("b").returncode == 0  # waiting for a result releases the lanes


def test_exclusive_job_runs_alone(tmp_path):
    trace, js = jobs(tmp_path, ["a", "x", "b", "c"], exclusive=("x",))
    lanes = Lanes(js, lanes=2)
    lanes.release()
    lanes.start()
    for n in "axbc":
        lanes.result(n)
    ev = events(trace)
    start, end = ev.index("start x"), ev.index("end x")
    assert end == start + 1, ev  # nothing started or ended while x ran
    assert all(ev.index("end %s" % n) < start or ev.index("start %s" % n) > end for n in "abc")


def test_stop_cancels_what_has_not_started(tmp_path):
    trace, js = jobs(tmp_path, ["a", "b", "c"])
    lanes = Lanes(js, lanes=1)
    lanes.start()
    time.sleep(0.1)
    lanes.stop()
    assert "start c" not in events(trace)
    assert lanes.jobs["a"].done.is_set()
