"""Run long jobs (Molecule scenarios) in lanes beside the rest of the suite.

The scenarios are started when the session starts and run in the background while the foreground
runs the unit, API and static tests; each scenario's test only waits for its result. Lane 1 starts at
once; the other lanes start when the foreground reaches the scenarios' tests (``release()``), so the
machine runs at most two heavy things at a time before then. Jobs are taken longest first. An
exclusive job runs with no other job beside it.
"""

import os
import subprocess
import threading
import time


class Job:
    def __init__(self, name, argv, env, cwd, log, timeout, exclusive=False, cleanup=None):
        self.name, self.argv, self.env, self.cwd = name, argv, env, cwd
        self.log, self.timeout, self.exclusive = log, timeout, exclusive
        self.cleanup = cleanup  # argv run after the job was ended before its time (removes what it started)
        self.done = threading.Event()
        self.returncode = None
        self.output = ""
        self.seconds = None


class Lanes:
    def __init__(self, jobs, lanes=2, before=None):
        self.queue = list(jobs)
        self.jobs = {job.name: job for job in jobs}
        self.lanes = max(1, lanes)
        self.before = before
        self.released = threading.Event()
        self.cond = threading.Condition()
        self.running = set()
        self.procs = {}
        self.stopping = False
        self.threads = []
        self.prepared = threading.Event()
        self.prepare_error = None

    def start(self):
        for lane in range(self.lanes):
            thread = threading.Thread(target=self._lane, args=(lane,), name="lane-%d" % lane, daemon=True)
            thread.start()
            self.threads.append(thread)

    def release(self):
        """Let every lane run (the foreground has reached the jobs' tests)."""
        self.released.set()

    def result(self, name):
        self.release()
        job = self.jobs[name]
        job.done.wait()
        return job

    def stop(self):
        """Cancel what has not started, end what runs (by PID), and wait for the lanes."""
        with self.cond:
            self.stopping = True
            for job in self.queue:
                job.returncode, job.output = "cancelled", ""
                job.done.set()
            self.queue = []
            ended = [self.jobs[name] for name in self.procs]
            for proc in self.procs.values():
                proc.terminate()
            self.cond.notify_all()
        self.released.set()
        for thread in self.threads:
            thread.join(timeout=120)
        for job in ended:
            if job.cleanup:
                subprocess.call(job.cleanup, cwd=job.cwd, env=job.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                timeout=600)

    def _prepare(self, lane):
        if lane == 0:
            try:
                if self.before:
                    self.before()
            except Exception as e:  # reported by every job's test
                self.prepare_error = "preparing the test hosts failed: %s" % e
            self.prepared.set()
        else:
            self.prepared.wait()

    def _take(self):
        """The next job this lane may run now, or None when nothing is left."""
        with self.cond:
            while True:
                if self.stopping or not self.queue:
                    return None
                exclusive_running = any(self.jobs[n].exclusive for n in self.running)
                for job in self.queue:
                    if exclusive_running or (job.exclusive and self.running):
                        continue
                    self.queue.remove(job)
                    self.running.add(job.name)
                    return job
                self.cond.wait()

    def _lane(self, lane):
        self._prepare(lane)
        if lane > 0:
            self.released.wait()
        while True:
            job = self._take()
            if job is None:
                return
            try:
                self._run(job)
            except Exception as e:  # reported by the job's test, never lost in a thread
                job.returncode = "error: %r" % e
            finally:
                with self.cond:
                    self.running.discard(job.name)
                    self.procs.pop(job.name, None)
                    self.cond.notify_all()
                job.done.set()

    def _run(self, job):
        if self.prepare_error:
            job.returncode, job.output = 1, self.prepare_error
            return
        started = time.monotonic()
        os.makedirs(os.path.dirname(job.log), exist_ok=True)
        fd = os.open(job.log, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # a log left by an older run keeps its mode through O_TRUNC
        with os.fdopen(fd, "w+") as log:
            with self.cond:
                if self.stopping:
                    job.returncode, job.output = 1, "cancelled"
                    return
                proc = subprocess.Popen(job.argv, cwd=job.cwd, env=job.env, stdout=log, stderr=subprocess.STDOUT, text=True)
                self.procs[job.name] = proc
            try:
                job.returncode = proc.wait(timeout=job.timeout)
            except subprocess.TimeoutExpired:
                proc.terminate()
                proc.wait(timeout=60)
                job.returncode = "timeout after %d s" % job.timeout
                if job.cleanup:
                    subprocess.call(job.cleanup, cwd=job.cwd, env=job.env, stdout=log, stderr=subprocess.STDOUT, timeout=600)
            log.seek(0)
            job.output = log.read()
        job.seconds = time.monotonic() - started
