"""The simulated sensor's firmware logic without Bluetooth: clock, sessions, motion sources, fault plans."""

from __future__ import annotations

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from posture.commands import sim as sim_command
from processing.samples import STANDARD_GRAVITY_MPS2, ImuSamples
from sensorlink.protocol import ImuPacket, SensorConfig
from sensorlink.simsensor import (
    ArrayMotionSource,
    FaultPlan,
    LinkDrop,
    PacketFate,
    SensorCore,
    StandThenRunMotion,
)


def _ramp_source(rate_hz: float = 100.0, duration_s: float = 2.0) -> ArrayMotionSource:
    t_s = np.arange(0, duration_s, 1 / rate_hz)
    acc = np.column_stack([t_s, -t_s, np.full_like(t_s, STANDARD_GRAVITY_MPS2)])
    gyr = np.column_stack([10 * t_s, np.zeros_like(t_s), np.ones_like(t_s)])
    return ArrayMotionSource(t_s, acc, gyr)


# --- clock and sessions -------------------------------------------------------------------------------------


def test_drifting_oscillator_runs_its_clock_and_its_sampling_fast() -> None:
    core = SensorCore(StandThenRunMotion(), FaultPlan(drift_ppm=50.0), initial_sensor_time_us=1_000)
    assert core.sensor_clock_us(100.0) == pytest.approx(1_000 + 100e6 * (1 + 50e-6))
    session = core.start_session(true_s=10.0, samples_per_packet=8)
    packets = core.produce_until(70.0)
    ready = np.array([p.ready_true_s for p in packets])
    times_us = np.array([p.packet.sensor_time_us for p in packets], dtype=np.float64)
    # Nominal spacing on the sensor clock, 50 ppm shorter in true time.
    assert np.all(np.abs(np.diff(times_us) - 8e6 / 208) <= 1)
    np.testing.assert_allclose(np.diff(ready), 8 / 208 / (1 + 50e-6), rtol=1e-9)
    # About 60 s x 208 Hz x (1 + 50 ppm) / 8 packets, the last one complete by t = 70 s.
    assert len(packets) == int((60 * 208 * (1 + 50e-6) + 1) // 8)
    assert ready[-1] <= 70.0 < core.next_packet_ready_true_s()  # type: ignore[operator]
    assert session.packets_made == len(packets)


def test_sensor_time_and_seq_wrap() -> None:
    core = SensorCore(StandThenRunMotion(), initial_seq=65534, initial_sensor_time_us=2**32 - 50_000)
    core.start_session(true_s=0.0, samples_per_packet=1)
    packets = [p.packet for p in core.produce_until(0.1)]
    assert [p.seq for p in packets[:4]] == [65534, 65535, 0, 1]
    assert packets[0].sensor_time_us == 2**32 - 50_000
    assert any(p.sensor_time_us < 50_000 for p in packets)


def test_new_session_continues_seq_and_flags_its_first_packet() -> None:
    core = SensorCore(StandThenRunMotion())
    core.start_session(0.0, 8)
    first = core.produce_until(1.0)
    core.stop_session()
    assert core.next_packet_ready_true_s() is None
    assert core.produce_until(5.0) == []
    core.start_session(5.0, 19)
    second = core.produce_until(6.0)
    assert second[0].packet.seq == first[-1].packet.seq + 1
    assert [bool(p.packet.flags & ImuPacket.FLAG_SESSION_START) for p in (first[0], first[1], second[0])] == [
        True,
        False,
        True,
    ]
    assert second[0].packet.sample_count == 19
    assert second[0].packet.sensor_time_us == pytest.approx(5e6, abs=1)


def test_packets_carry_the_motion_quantised_with_the_session_config() -> None:
    core = SensorCore(_ramp_source())
    core.config = SensorConfig(sample_rate_hz=104, acc_range_g=2, gyr_range_dps=125, samples_per_packet=4)
    core.start_session(0.0, 4)
    packets = core.produce_until(1.0)
    acc = np.concatenate([p.packet.decode(core.config)[0] for p in packets])
    t_s = np.arange(len(acc)) / 104
    np.testing.assert_allclose(acc[:, 0], t_s, atol=core.config.acc_mps2_per_lsb)
    np.testing.assert_allclose(acc[:, 2], STANDARD_GRAVITY_MPS2, atol=core.config.acc_mps2_per_lsb)


# --- motion sources -----------------------------------------------------------------------------------------


def test_array_source_resamples_to_the_requested_rate() -> None:
    source = _ramp_source(rate_hz=100.0)
    source.start(250.0)
    acc, gyr = source.read(100)
    np.testing.assert_allclose(acc[:, 0], np.arange(100) / 250.0, atol=1e-12)
    np.testing.assert_allclose(gyr[:, 0], 10 * np.arange(100) / 250.0, atol=1e-12)
    acc_next, _ = source.read(1)
    assert acc_next[0, 0] == pytest.approx(100 / 250.0)


@pytest.mark.parametrize(
    ("at_end", "acc_x_after_end", "gyr_z_after_end"),
    [("hold", 1.99, 1.0), ("rest", 0.5, 0.0), ("loop", 0.01, 1.0)],  # rest: mean of t <= 1 s,
)
def test_array_source_after_its_end(at_end: str, acc_x_after_end: float, gyr_z_after_end: float) -> None:
    source = _ramp_source()
    source = ArrayMotionSource(source.t_s, source.acc_mps2, source.gyr_dps, at_end)  # type: ignore[arg-type]
    source.start(100.0)
    source.read(200)
    acc, gyr = source.read(1)
    assert acc[0, 0] == pytest.approx(acc_x_after_end, abs=1e-9)
    assert gyr[0, 2] == pytest.approx(gyr_z_after_end)


def test_array_source_needs_a_gyroscope() -> None:
    samples = ImuSamples(np.arange(3.0), np.zeros((3, 3)), None)
    with pytest.raises(ValueError, match="gyroscope"):
        ArrayMotionSource.from_samples(samples)


def test_builtin_motion_stands_then_runs() -> None:
    motion = StandThenRunMotion(standing_s=2.0)
    motion.start(208.0)
    acc, gyr = motion.read(208 * 6)
    standing, running = slice(0, 2 * 208), slice(3 * 208, 6 * 208)
    np.testing.assert_allclose(acc[standing].mean(axis=0), [0, 0, STANDARD_GRAVITY_MPS2], atol=0.02)
    assert np.abs(gyr[standing]).max() < 2.0
    assert acc[running, 2].std() > 0.5 * STANDARD_GRAVITY_MPS2  # vertical bounce of running
    assert np.abs(gyr[running, 2]).max() > 30.0  # pelvic rotation
    # Step frequency 170 spm = 2.83 Hz: the dominant frequency of the vertical acceleration.
    spectrum = np.abs(np.fft.rfft(acc[running, 2] - acc[running, 2].mean()))
    frequencies = np.fft.rfftfreq(3 * 208, d=1 / 208)
    assert frequencies[spectrum.argmax()] == pytest.approx(170 / 60, abs=0.34)


def test_scenario_motion_from_the_running_simulator() -> None:
    motion = sim_command.motion_for_scenario("clean_run", seed=3, duration_s=12.0)
    assert isinstance(motion, ArrayMotionSource)
    motion.start(208.0)
    acc, _ = motion.read(208)
    assert np.linalg.norm(acc.mean(axis=0)) == pytest.approx(STANDARD_GRAVITY_MPS2, rel=0.05)  # stands first
    assert isinstance(sim_command.motion_for_scenario(None), StandThenRunMotion)


# --- fault plans and the command line -----------------------------------------------------------------------


def test_bounded_sent_log_keeps_recent_records_and_exact_totals() -> None:
    core = SensorCore(StandThenRunMotion(), log_max_records=5)
    core.start_session(0.0, 8)
    produced = core.produce_until(2.0)
    for i, item in enumerate(produced):
        core.log.append(item, PacketFate.SENT if i % 2 else PacketFate.SUPPRESSED)
    assert [r.seq for r in core.log.records] == [p.packet.seq for p in produced[-5:]]
    assert core.log.packet_count(*PacketFate) == len(produced)
    assert core.log.undelivered_samples == 8 * len(produced[::2])


def test_fault_plan_validates() -> None:
    with pytest.raises(ValueError, match="overlap"):
        FaultPlan(link_drops=(LinkDrop(5.0, 3.0), LinkDrop(7.0, 1.0)))
    with pytest.raises(ValueError, match="u16"):
        FaultPlan(lost_seqs=frozenset({70000}))
    with pytest.raises(ValueError, match="duration_s"):
        LinkDrop(1.0, 0.0)


def _cli() -> typer.Typer:
    app = typer.Typer()
    sim_command.register(app)

    @app.callback()
    def _root() -> None:
        """Keep `sim` a subcommand, as in the real CLI."""

    return app


def test_sim_command_rejects_bad_options_with_a_clear_message() -> None:
    runner = CliRunner()
    result = runner.invoke(
        _cli(), ["sim", "--transport", "tcp-server:127.0.0.1:1", "--scenario", "no_such_run"]
    )
    assert result.exit_code == 2
    assert "no_such_run" in result.output
    result = runner.invoke(_cli(), ["sim", "--transport", "tcp-server:127.0.0.1:1", "--lost-seq", "70000"])
    assert result.exit_code == 2
    assert "u16" in result.output
