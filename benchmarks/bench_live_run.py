"""The live run end to end (issue 8, "Measure"): latency to the broker, commit delay, a long run, CPU.

    python benchmarks/bench_live_run.py latency [--minutes 2] [--packet 19]  # 1 and 2, paced in real time
    python benchmarks/bench_live_run.py soak [--hours 3 --speed 50]           # 3, `posture run`, subprocess
    python benchmarks/bench_live_run.py cpu [--seconds 120]                   # 4, `run` / `record` / `sim`

Every part starts its own Mosquitto (`posture.localstack.mosquitto`, Debian's mosquitto 2.0, loopback, no TLS)
and a paho subscriber on `posture/v1/#` that notes when each `message_id` first arrives. Figures and how to
read them: docs/live-run-benchmarks.md.

1. latency: a simulated `clean_run` (208 Hz) is cut into packets of 19 samples (91 ms: the link asks the
   sensor for the profile's maximum) and fed to `LiveRun` at the real pace: packet k is handed over when its
   last sample is due on the wall clock (perf_counter), and that instant is its arrival. The sinks are a
   stamping sink, then the real `MqttRunSink` on the real `Publisher` (background thread, SQLite outbox).
   Figures, wall time:
   - sample arrival -> live message at the subscriber: a live message is about the newest sample of the
     packet being fed, so the delay runs from that packet's arrival (goal: p99 < 250 ms);
   - step commit -> step message at the subscriber: from the moment `LiveRun` hands the step to its sinks
     (goal: p99 < 50 ms); the subscriber sees what a consumer sees;
   - commit delay: from a step's last sample (its end: the next contact, `t_ic_s + step_time_s`) being taken
     to its commit, on the same paced clock. The calibration's backlog (the steps released at once when the
     standing calibration completes) and the steps `finish()` flushes at the end are left out. The bound is
     printed too; what shorter windows cost in accuracy is measured by `bench_commit_delay.py --accuracy`.
   The subscriber runs in the same process (one more thread under the GIL: it can only lengthen the delays).
   CPU time of the process and of its threads over the stream is printed too (no BLE link here).
2. soak: `posture --adapter sim run --speed S --duration D --mqtt URL` in a subprocess with a temporary
   POSTURE_CONFIG_DIR and POSTURE_DATA_DIR. Every few seconds the child's RSS (/proc/PID/status VmRSS) and CPU
   time (/proc/PID/stat) are sampled; at the end the unique step message ids are compared with the rows of
   the run folder's steps.csv (by t_ic, within 1 us). The default motion is the simulated sensor's own endless
   running (`--scenario builtin`): a `processing.simulation` scenario holds at most 3600 s of running, and the
   sensor replaying a long one costs O(scenario length) per packet (docs/live-run-benchmarks.md), so at speed
   50 the simulator, not the run, would be measured.
3. cpu: process CPU time (user + system, from wait4's rusage and /proc) of, each for `--seconds` of sensor
   time at speed 1 (208 Hz), with a broker for `run`:
   - `posture --adapter sim run` (the simulated sensor and the virtual Bumble link in the same process);
   - `posture --adapter sim record` (the figure issue 8 compares with: about 5 % today);
   - `posture sim --transport tcp-server:...` in its own process, and `posture --adapter tcp-client:... run`
     (then `record`) against it: the sensor's cost separated from the host's.
   Reported: CPU seconds over the whole process life, and the steady rate: CPU delta / wall delta while the
   session file grows (from `--skip-s` after its first growth to its last), in % of one core. The machine is
   shared, so CPU time, never wall time, is the figure.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from posture.live.mqtt_sink import MqttRunSink
from posture.live.run import LiveRun
from posture.localstack.mosquitto import Mosquitto, free_port
from posture.messages import ns_from_s
from posture.mqtt import MqttSettings, Publisher
from processing.events import EventEngine, EventUpdate
from processing.pipeline import LiveAngles, PipelineParams
from processing.samples import ImuSamples
from processing.simulation import scenario_by_name, simulate
from processing.steps import StepMetrics
from sensorlink.blocks import LinkCounters, SampleBlock
from sensorlink.profiles.posture_v1 import STREAMING_CONFIG

RATE_HZ = 208.0
#: Samples per packet while streaming: the link asks for the profile's maximum (`STREAMING_CONFIG`): 19.
PACKET = STREAMING_CONFIG.samples_per_packet
ATHLETE = "bench"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- shared ----------------------------------------------------------------------------------------------


class Arrivals:
    """A subscriber that notes when each message_id first arrives (perf_counter), with its kind and t_ns."""

    def __init__(self, port: int, client_id: str = "bench-live-sub") -> None:
        self.at: dict[str, tuple[float, str, int]] = {}
        self.received = 0
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self.client = paho.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        self.client.on_connect = lambda client, *args: client.subscribe("posture/v1/#", qos=1)
        self.client.on_subscribe = lambda *args: self._ready.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if not self._ready.wait(10):
            raise RuntimeError("the subscriber did not subscribe within 10 s")

    def _on_message(self, client: paho.Client, userdata: object, msg: paho.MQTTMessage) -> None:
        now = time.perf_counter()
        payload = json.loads(msg.payload)
        kind = msg.topic.rsplit("/", 1)[-1]
        with self._lock:
            self.received += 1
            self.at.setdefault(payload["message_id"], (now, kind, int(payload["t_ns"])))

    def cpu_clock(self) -> int:
        """The CPU clock of paho's network thread (benchmark only: reads paho's private `_thread`)."""
        thread = self.client._thread
        if thread is None or thread.ident is None:
            raise RuntimeError("the subscriber's thread is not running")
        return time.pthread_getcpuclockid(thread.ident)

    def of_kind(self, kind: str) -> dict[str, tuple[float, int]]:
        with self._lock:
            return {key: (at, t_ns) for key, (at, k, t_ns) in self.at.items() if k == kind}

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def quantiles_row(name: str, values: Sequence[float], scale: float = 1e3, unit: str = "ms") -> str:
    x = np.asarray(values, dtype=float) * scale
    if x.size == 0:
        return f"  {name:38s} (none)"
    p50, p95, p99 = np.percentile(x, [50, 95, 99])
    return f"  {name:38s} {x.size:6d} {p50:9.2f} {p95:9.2f} {p99:9.2f} {x.max():9.2f}  {unit}"


def quantiles_header() -> str:
    return f"  {'':38s} {'n':>6s} {'p50':>9s} {'p95':>9s} {'p99':>9s} {'max':>9s}"


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# --- 1 and 2: latency and commit delay --------------------------------------------------------------------


class Stamps:
    """A sink that notes when LiveRun hands over each step and live angles (put before the MQTT sink)."""

    def __init__(self) -> None:
        self.block_arrival = 0.0  # set by the feeding loop before each feed
        self.step_commit: dict[int, tuple[float, StepMetrics]] = {}  # t_ic_ns -> (perf_counter, step)
        self.live_block: dict[int, float] = {}  # t_ns -> arrival of the packet it came with
        self.flushed: set[int] = set()  # t_ic_ns of the steps that finish() flushed at the end
        self.finishing = False

    def on_step(self, step: StepMetrics, t0_ns: int) -> None:
        t_ic_ns = ns_from_s(t0_ns, step.t_ic_s)
        self.step_commit[t_ic_ns] = (time.perf_counter(), step)
        if self.finishing:
            self.flushed.add(t_ic_ns)

    def on_event(self, update: EventUpdate, t0_ns: int) -> None:
        pass

    def on_live(self, angles: LiveAngles, cadence_spm: float, t0_ns: int) -> None:
        self.live_block[ns_from_s(t0_ns, angles.t_s)] = self.block_arrival


def packets(samples: ImuSamples, t0_s: float, packet: int) -> Iterator[tuple[float, SampleBlock]]:
    """(due time of the packet's last sample from the run's start, s; the block on the host's epoch clock)."""
    host = samples.t_s + t0_s
    for first in range(0, len(samples) - packet + 1, packet):
        part = samples.slice(first, first + packet)
        stamped = ImuSamples(host[first : first + packet], part.acc_mps2, part.gyr_dps)
        block = SampleBlock(stamped, first, 0, round(part.t_s[0] * 1e6), RATE_HZ, LinkCounters())
        yield float(part.t_s[-1] - samples.t_s[0]), block


def bench_latency(minutes: float, packet: int) -> None:
    scenario = dataclasses.replace(
        scenario_by_name("clean_run"), duration_s=minutes * 60.0, sampling_rate_hz=RATE_HZ, name="bench"
    )
    samples = simulate(scenario).samples
    session = f"latency-{int(time.time())}"
    t0_ns = time.time_ns()
    stamps = Stamps()
    with tempfile.TemporaryDirectory(prefix="bench-live-") as tmp, Mosquitto() as broker:
        arrivals = Arrivals(broker.port)
        publisher = Publisher(MqttSettings.from_url(broker.url), ATHLETE, session, Path(tmp) / "outbox.db")
        publisher.start()
        while not publisher.connected:
            time.sleep(0.01)
        run = LiveRun(
            RATE_HZ,
            has_gyroscope=True,
            engine=EventEngine(),
            sinks=(stamps, MqttRunSink(publisher, ATHLETE, session)),
            t0_ns=t0_ns,
        )
        thread = publisher._thread  # benchmark only: the CPU clock of the publisher's own thread
        if thread is None or thread.ident is None:
            raise RuntimeError("the publisher thread is not running")
        pub_clock = time.pthread_getcpuclockid(thread.ident)
        sub_clock = arrivals.cpu_clock()
        print(
            f"clean_run, {samples.t_s[-1] - samples.t_s[0]:.0f} s at {RATE_HZ:g} Hz in packets of {packet} "
            f"samples ({1e3 * packet / RATE_HZ:.1f} ms), paced in real time; load average {loadavg()}"
        )
        late: list[float] = []
        backlog_released = False
        backlog: set[int] = set()
        cpu0, pub0, sub0 = time.process_time(), time.clock_gettime(pub_clock), time.clock_gettime(sub_clock)
        main0 = time.thread_time()
        start = time.perf_counter()
        for due_s, block in packets(samples, t0_ns * 1e-9, packet):
            now = time.perf_counter()
            if now < start + due_s:
                time.sleep(start + due_s - now)
            arrival = time.perf_counter()
            late.append(arrival - (start + due_s))
            stamps.block_arrival = arrival
            steps = run.feed(block)
            if steps and not backlog_released:
                backlog_released = True  # the calibration's backlog: released at once, left out below
                backlog = {ns_from_s(t0_ns, s.t_ic_s) for s in steps}
        stream_wall = time.perf_counter() - start
        cpu, pub_cpu = time.process_time() - cpu0, time.clock_gettime(pub_clock) - pub0
        sub_cpu, main_cpu = time.clock_gettime(sub_clock) - sub0, time.thread_time() - main0
        stamps.finishing = True
        outputs = run.finish()
        delivered = publisher.wait_until_delivered(30.0)
        time.sleep(0.5)
        counters = publisher.counters
        publisher.close()
        arrivals.close()
        print(f"  load average at the end {loadavg()}; all QoS 1 acknowledged: {delivered}")

    live_at = arrivals.of_kind("live")
    live_delays = [
        live_at[k][0] - stamps.live_block[t] for k, (_, t) in live_at.items() if t in stamps.live_block
    ]
    step_at = arrivals.of_kind("step")
    step_delays = [at - stamps.step_commit[t][0] for at, t in step_at.values() if t in stamps.step_commit]
    commit_delays = [
        commit - (start + s.t_ic_s + s.step_time_s - float(samples.t_s[0]))
        for t, (commit, s) in stamps.step_commit.items()
        if t not in backlog and t not in stamps.flushed
    ]
    print(
        f"  {len(outputs.steps)} steps ({len(backlog)} in the calibration's backlog, {len(stamps.flushed)} "
        "flushed by finish(): both left out of the commit delay), "
        f"{len(stamps.live_block)} live messages made, {counters.live_sent} sent, "
        f"{counters.live_skipped} skipped; at the subscriber: {len(step_at)} steps, {len(live_at)} live"
    )
    print(
        f"  pacing: packets handed over late by p99 {1e3 * np.percentile(late, 99):.2f} ms, "
        f"max {1e3 * max(late):.1f} ms (the feeding loop fell behind the sensor)"
    )
    print()
    print(quantiles_header())
    print(quantiles_row("sample arrival -> live message", live_delays))
    print(quantiles_row("step commit -> step message", step_delays))
    print(quantiles_row("commit delay (step end -> commit)", commit_delays, 1.0, "s"))
    print()
    print(
        f"  CPU time over the stream ({stream_wall:.0f} s), % of one core: process "
        f"{100 * cpu / stream_wall:.2f} (no BLE link); the feeding thread (LiveRun, MqttRunSink, publish()) "
        f"{100 * main_cpu / stream_wall:.2f}, the publisher's thread {100 * pub_cpu / stream_wall:.2f}, "
        f"the subscriber's {100 * sub_cpu / stream_wall:.2f}"
    )
    p = PipelineParams()
    h, m, la = p.window_hop_s, p.window_margin_s, p.orientation_lookahead_s
    print(
        "  commit delay bound: margin + look-ahead .. hop + margin + look-ahead = "
        f"{m + la:g} .. {h + m + la:g} s "
        f"(hop {h:g}, margin {m:g}, look-ahead {la:g}), median about hop/2 + margin + look-ahead = "
        f"{h / 2 + m + la:g} s, plus up to one packet ({1e3 * packet / RATE_HZ:.0f} ms)"
    )


# --- child processes ------------------------------------------------------------------------------------


@dataclasses.dataclass
class Usage:
    """What a child process cost.

    Attributes
    ----------
    samples : list of (wall s since `t0`, RSS kB, CPU s, bytes of its session files)
    cpu_s, max_rss_kb : from wait4's rusage (user + system, all threads)
    t0 : perf_counter at the start
    wall_s : start to exit
    returncode : int
    window : (begin, end) perf_counter, optional
        The stream the steady CPU figure is taken over (set by the caller).
    """

    samples: list[tuple[float, int, float, int]]
    cpu_s: float
    max_rss_kb: int
    t0: float
    wall_s: float
    returncode: int
    window: tuple[float, float] | None = None

    def stream_window(self) -> tuple[float, float] | None:
        """Absolute perf_counter times from the session file's first growth to its last (the stream)."""
        sizes = [s for s in self.samples if s[3] > 0]
        if len(sizes) < 2:
            return None
        first_size, last_size = sizes[0][3], sizes[-1][3]
        begin = next((s[0] for s in sizes if s[3] > first_size), None)
        end = next((s[0] for s in sizes if s[3] >= last_size), None)
        if begin is None or end is None or end <= begin:
            return None
        return self.t0 + begin, self.t0 + end

    def cpu_pct_between(self, begin: float, end: float) -> float:
        """CPU time per wall second between two perf_counter instants, % of one core (from the samples)."""
        inside = [s for s in self.samples if begin <= self.t0 + s[0] <= end]
        if len(inside) < 2:
            return float("nan")
        (w0, _, c0, _), (w1, _, c1, _) = inside[0], inside[-1]
        return 100.0 * (c1 - c0) / (w1 - w0)


def proc_cpu_s(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14 and 15 of stat)


def proc_rss_kb(pid: int) -> int | None:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(r"^VmRSS:\s+(\d+) kB", text, re.MULTILINE)
    return int(found.group(1)) if found else None


def session_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*.posture") if p.is_file())


def posture_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "posture", *args]


def watch(
    args: list[str],
    env: dict[str, str],
    log: Path,
    every_s: float,
    *,
    sessions: Path | None = None,
    on_start: Callable[[subprocess.Popen[bytes]], None] | None = None,
) -> Usage:
    """Run a child to its end, sampling its RSS, CPU time and the size of its session files (`sessions`)."""
    t0 = time.perf_counter()
    with log.open("wb") as out:
        process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
    if on_start is not None:
        on_start(process)
    samples: list[tuple[float, int, float, int]] = []
    while True:
        rss, cpu = proc_rss_kb(process.pid), proc_cpu_s(process.pid)
        size = 0 if sessions is None else session_bytes(sessions)
        if rss is not None and cpu is not None:
            samples.append((time.perf_counter() - t0, rss, cpu, size))
        deadline = time.perf_counter() + every_s
        while time.perf_counter() < deadline:
            pid, status, rusage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                process.returncode = os.waitstatus_to_exitcode(status)
                return Usage(
                    samples,
                    rusage.ru_utime + rusage.ru_stime,
                    rusage.ru_maxrss,
                    t0,
                    time.perf_counter() - t0,
                    process.returncode,
                )
            time.sleep(0.05)


def isolated_env(folder: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(POSTURE_CONFIG_DIR=str(folder / "config"), POSTURE_DATA_DIR=str(folder / "data"))
    for name in ("POSTURE_ADAPTER", "POSTURE_MQTT_URL", "POSTURE_MQTT_USERNAME", "POSTURE_MQTT_PASSWORD"):
        env.pop(name, None)
    return env


def steps_csv_t_ic_us(run_folder: Path) -> list[int]:
    """The steps of a run folder: t_ic on the run's axis, integer microseconds (steps.csv has 6 decimals)."""
    import csv

    with (run_folder / "steps.csv").open() as f:
        return [round(float(row["t_ic_s"]) * 1e6) for row in csv.DictReader(f)]


def running_step_times_s(run_folder: Path) -> list[float]:
    import csv

    with (run_folder / "steps.csv").open() as f:
        return [float(row["step_time_s"]) for row in csv.DictReader(f) if row["is_running"] == "1"]


def t0_of_session(path: Path) -> int:
    """t = 0 of a run's axis, epoch ns: its session file header's start_host_ns."""
    from posture.session import read_session

    return read_session(path).header.start_host_ns


# --- 3: the long run --------------------------------------------------------------------------------------


def bench_soak(hours: float, speed: float, scenario: str, run_s: float, every_s: float) -> None:
    duration_s = hours * 3600.0
    session = f"soak-{int(time.time())}"
    motion = [] if scenario == "builtin" else ["--scenario", scenario, "--run-s", f"{run_s:g}"]
    with tempfile.TemporaryDirectory(prefix="bench-live-") as tmp, Mosquitto() as broker:
        folder = Path(tmp)
        arrivals = Arrivals(broker.port, "bench-soak-sub")
        args = posture_cmd(
            "--adapter", "sim", "run", *motion, "--speed", f"{speed:g}", "--duration", f"{duration_s:g}",
            "--mqtt", broker.url, "--athlete", ATHLETE, "--session", session,
        )  # fmt: skip
        print(f"posture {' '.join(args[3:])}\n  load average {loadavg()}", flush=True)
        data = folder / "data"
        usage = watch(args, isolated_env(folder), folder / "run.log", every_s, sessions=data)
        time.sleep(1.0)
        arrivals.close()
        log = (folder / "run.log").read_text(errors="replace")
        run_folder = data / "sessions" / ATHLETE / session
        rows = steps_csv_t_ic_us(run_folder) if (run_folder / "steps.csv").exists() else []
        summary = json.loads((run_folder / "summary.json").read_text()) if rows else {}
        step_times = running_step_times_s(run_folder) if rows else []
        about = json.loads((run_folder / "session.json").read_text()) if rows else {}
        t0_ns = t0_of_session(run_folder / "session.posture") if rows else 0
    print(f"  exit code {usage.returncode}, wall {usage.wall_s:.0f} s, load average at the end {loadavg()}")
    if usage.returncode != 0:
        print(log[-3000:])
    overflows = log.count("receive queue full")
    print(f"  the link's receive queue overflowed {overflows} times (packets dropped: the host fell behind)")
    steps = arrivals.of_kind("step")
    # steps.csv rounds t_ic_s to 6 decimals, the message carries t0_ns + round(t_ic_s * 1e9): a step matches
    # a message within 1 us
    published = {round((t - t0_ns) / 1e3) for _, t in steps.values()}
    missing = {t for t in rows if not {t - 1, t, t + 1} & published}
    csv_set = set(rows)
    extra = {t for t in published if not {t - 1, t, t + 1} & csv_set}
    print(
        f"  session.json: ended by {about.get('ended_by')}, {about.get('samples')} samples, "
        f"{about.get('lost_samples', about.get('samples_lost'))} lost; "
        f"gaps {summary.get('gaps', {}).get('total')}"
    )
    samples = int(about.get("samples", 0))
    if samples and step_times:
        tenth = max(1, len(step_times) // 10)
        print(
            f"  time axis: {samples / RATE_HZ:.0f} s of samples span "
            f"{summary.get('duration_s', 0.0):.0f} s of the run's axis; running step time, median of the "
            "first and last tenth: "
            f"{np.median(step_times[:tenth]):.4f} s, {np.median(step_times[-tenth:]):.4f} s"
        )
    print(
        f"  steps.csv rows {len(rows)} (running {summary.get('steps', {}).get('running')}); unique step "
        f"message ids at the subscriber {len(steps)}; steps.csv steps missing at the subscriber "
        f"{len(missing)}, messages not in steps.csv {len(extra)} (matched within 1 us); "
        f"messages received in all {arrivals.received} (unique ids {len(arrivals.at)})"
    )
    window = usage.stream_window()
    stream_wall = (window[1] - window[0]) if window else usage.wall_s
    print(
        f"  CPU {usage.cpu_s:.0f} s over {usage.wall_s:.0f} s of wall time: "
        f"{100 * usage.cpu_s / duration_s:.2f} % of one core per sensor second; "
        f"streaming took {stream_wall:.0f} s of wall time "
        f"({duration_s / stream_wall:.1f} x real time; asked {speed:g} x)"
    )
    print_memory(usage, window)


def print_memory(usage: Usage, window: tuple[float, float] | None) -> None:
    walls = np.array([usage.t0 + s[0] for s in usage.samples])
    rss_mb = np.array([s[1] for s in usage.samples]) / 1024.0
    cpu = np.array([s[2] for s in usage.samples])
    begin, end = window if window else (walls[0], walls[-1])
    keep = (walls >= begin) & (walls <= end)
    w, r, c = walls[keep] - begin, rss_mb[keep], cpu[keep]
    print(
        f"  RSS while streaming, MB ({w.size} samples); "
        f"max RSS of the process {usage.max_rss_kb / 1024:.0f} MB"
    )
    if w.size < 10:
        return
    span = w[-1]
    print(f"    {'part of the stream':18s} {'median':>8s} {'min':>8s} {'max':>8s}")
    for name, lo, hi in (("first 10 %", 0.0, 0.1), ("45-55 %", 0.45, 0.55), ("last 10 %", 0.9, 1.0)):
        sel = (w >= lo * span) & (w <= hi * span)
        print(f"    {name:18s} {np.median(r[sel]):8.1f} {r[sel].min():8.1f} {r[sel].max():8.1f}")
    for name, lo in (("whole stream", 0.0), ("second half", 0.5)):
        sel = w >= lo * span
        slope = np.polyfit(w[sel], r[sel], 1)[0]
        print(f"    RSS trend over the {name}: {60 * slope:+.3f} MB per wall minute")
    print(f"    {'wall s':>8s} {'RSS MB':>8s} {'CPU s':>8s}")
    for q in np.linspace(0, 1, 11):
        i = min(round(q * (w.size - 1)), w.size - 1)
        print(f"    {w[i]:8.0f} {r[i]:8.1f} {c[i]:8.1f}")


# --- 4: CPU per real-time second --------------------------------------------------------------------------


def _watch_into(
    into: list[Usage],
    args: list[str],
    env: dict[str, str],
    log: Path,
    on_start: Callable[[subprocess.Popen[bytes]], None],
) -> None:
    into.append(watch(args, env, log, 1.0, on_start=on_start))


def _wait_listening(port: int, alive: Callable[[], bool], timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        if time.monotonic() > deadline or not alive():
            raise RuntimeError(f"posture sim did not listen on port {port}")
        time.sleep(0.2)


def bench_cpu(seconds: float, which: Sequence[str], skip_s: float) -> None:
    rows: list[tuple[str, Usage, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-live-") as tmp, Mosquitto() as broker:
        folder = Path(tmp)
        print(f"{seconds:g} s of sensor time at speed 1 (208 Hz) each; load average {loadavg()}", flush=True)
        for name in which:
            env = isolated_env(folder / name)
            data = folder / name
            mqtt = ("--mqtt", broker.url, "--athlete", ATHLETE, "--session", name)
            record = ["record", "--duration", f"{seconds:g}", "--out", str(folder / name / "rec.csv")]
            run = ["run", "--duration", f"{seconds:g}", *mqtt]
            if name.endswith("-sim"):
                command = record
                if name == "run-sim":
                    command = [*run, "--scenario", "clean_run", "--run-s", f"{seconds:g}"]
                else:
                    pair = posture_cmd("--adapter", "sim", "pair")
                    subprocess.run(pair, env=env, check=True, capture_output=True)
                args = posture_cmd("--adapter", "sim", *command)
                usage = watch(args, env, folder / f"{name}.log", 1.0, sessions=data)
                rows.append((f"posture --adapter sim {command[0]}", usage, seconds))
                window = usage.stream_window()
                print(f"  {rows[-1][0]}: exit {usage.returncode}", flush=True)
            else:
                port = free_port()
                sim_args = posture_cmd(
                    "sim", "--transport", f"tcp-server:127.0.0.1:{port}", "--scenario", "clean_run",
                    "--run-s", f"{seconds:g}",
                )  # fmt: skip
                sim_usage: list[Usage] = []
                sim_process: list[subprocess.Popen[bytes]] = []
                holder = threading.Thread(
                    target=_watch_into,
                    args=(sim_usage, sim_args, env, folder / f"{name}-sim.log", sim_process.append),
                    daemon=True,
                )
                holder.start()
                _wait_listening(port, holder.is_alive)
                adapter = f"tcp-client:127.0.0.1:{port}"
                subprocess.run(
                    posture_cmd("--adapter", adapter, "pair"), env=env, check=True, capture_output=True
                )
                command = run if name == "run-tcp" else record
                usage = watch(
                    posture_cmd("--adapter", adapter, *command),
                    env,
                    folder / f"{name}.log",
                    1.0,
                    sessions=data,
                )
                rows.append((f"posture --adapter tcp-client {command[0]}", usage, seconds))
                window = usage.stream_window()
                if sim_process:
                    sim_process[0].terminate()  # SIGTERM: posture sim stops cleanly
                holder.join(60)
                print(f"  {rows[-1][0]}: exit {usage.returncode}", flush=True)
                if sim_usage:
                    rows.append(("  posture sim --transport tcp-server (sensor)", sim_usage[0], seconds))
                    sim_usage[0].window = window
            if usage.returncode != 0:
                print((folder / f"{name}.log").read_text(errors="replace")[-2000:])
            usage.window = window
    print()
    print(
        f"  {'process':46s} {'CPU s':>6s} {'wall s':>6s} {'all/sensor s':>12s} {'steady':>7s} {'max RSS':>8s}"
    )
    for label, usage, sensor_s in rows:
        window = usage.window
        steady = usage.cpu_pct_between(window[0] + skip_s, window[1]) if window else float("nan")
        print(
            f"  {label:46s} {usage.cpu_s:6.1f} {usage.wall_s:6.1f} {100 * usage.cpu_s / sensor_s:11.1f}% "
            f"{steady:6.1f}% {usage.max_rss_kb / 1024:5.0f} MB"
        )
    print(
        "  all/sensor s: the process' whole CPU time (start-up and the end's analysis included) / sensor "
        f"seconds.\n  steady: CPU time per wall second while streaming (the session file growing), from "
        f"{skip_s:g} s after its\n  first growth to its last; the sensor process over the same window "
        "as the client it served."
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="what", required=True)
    latency = sub.add_parser("latency", help="1 and 2: delays to the broker and the commit delay")
    latency.add_argument("--minutes", type=float, default=2.0, help="minutes of running (after the standing)")
    latency.add_argument(
        "--packet", type=int, default=PACKET, help=f"samples per packet (default {PACKET}, as the link asks)"
    )
    soak = sub.add_parser("soak", help="3: a long simulated run faster than real time")
    soak.add_argument("--hours", type=float, default=3.0, help="sensor time of the run")
    soak.add_argument("--speed", type=float, default=50.0, help="times faster than real time")
    soak.add_argument(
        "--scenario",
        default="builtin",
        help="a processing.simulation scenario, or 'builtin': the simulated sensor's own endless running",
    )
    soak.add_argument(
        "--run-s", type=float, default=3600.0, help="seconds of running (the simulator's limit)"
    )
    soak.add_argument("--every-s", type=float, default=3.0, help="RSS sampling period, wall s")
    cpu = sub.add_parser("cpu", help="4: CPU of posture run / record at 208 Hz")
    cpu.add_argument("--seconds", type=float, default=120.0, help="sensor seconds per process")
    cpu.add_argument("--skip-s", type=float, default=10.0, help="wall s left out at the stream's start")
    cpu.add_argument(
        "--which",
        nargs="+",
        default=["run-sim", "record-sim", "run-tcp", "record-tcp"],
        choices=["run-sim", "record-sim", "run-tcp", "record-tcp"],
    )
    args = parser.parse_args()
    if args.what == "latency":
        bench_latency(args.minutes, args.packet)
    elif args.what == "soak":
        bench_soak(args.hours, args.speed, args.scenario, args.run_s, args.every_s)
    else:
        bench_cpu(args.seconds, args.which, args.skip_s)


if __name__ == "__main__":
    main()
