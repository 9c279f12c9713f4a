"""Write the example app exports in this folder from `contract.csv` (run from the repository root:
`.venv/bin/python tests/data/formats/generate_examples.py`).

Each file follows its app's documented layout (docs/formats.md), written by us: the same 6 s of simulated
running (100 Hz, from `processing.simulation`), converted to the app's units, its time stamps and its
number format. The gyroscope streams are stamped a few milliseconds apart from the accelerometer's, as apps
write them, with the contract's gyroscope interpolated onto those stamps.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import numpy as np

from posture.recording_io import write_recording
from processing.samples import STANDARD_GRAVITY_MPS2, FloatArray, ImuSamples
from processing.simulation import Scenario, simulate

HERE = Path(__file__).parent
CONTRACT = HERE / "contract.csv"
#: The recording's start: 2023-11-14 22:13:20 UTC.
START_UTC = dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.UTC)
START_NS = int(START_UTC.timestamp()) * 1_000_000_000
#: Polar sensors count nanoseconds from 2000-01-01 (Polar BLE SDK, TimeSystemExplained.md).
POLAR_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
#: The simulation runs at this rate; the recording keeps every `DECIMATION`-th sample (100 Hz), and each
#: app's gyroscope is sampled `GYRO_LAG` simulation steps after the accelerometer, as apps stamp it.
SIMULATION_HZ = 500.0
DECIMATION = 5
GYRO_LAG = {"metabase": 1, "polar": 2, "phyphox": 1, "sensor_logger": 3}


def main() -> None:
    run = simulate(Scenario(seed=11, sampling_rate_hz=SIMULATION_HZ, standing_s=1.0, duration_s=5.0))
    s = run.samples
    assert s.gyr_dps is not None
    keep = slice(0, None, DECIMATION)
    write_recording(CONTRACT, ImuSamples(s.t_s[keep], s.acc_mps2[keep], s.gyr_dps[keep]))
    t, acc, _ = _read_contract()
    gyro = {app: _gyro_lagged(s.t_s, s.gyr_dps, lag) for app, lag in GYRO_LAG.items()}
    _metabase(t, acc, gyro["metabase"])
    _polar(t, acc, gyro["polar"])
    _phyphox(t, acc, gyro["phyphox"])
    _sensor_logger(t, acc, gyro["sensor_logger"])


def _read_contract() -> tuple[FloatArray, FloatArray, FloatArray]:
    data = np.loadtxt(CONTRACT, delimiter=",", skiprows=1)
    return data[:, 0], data[:, 1:4], data[:, 4:7]


def _gyro_lagged(t: FloatArray, gyr: FloatArray, lag: int) -> tuple[FloatArray, FloatArray]:
    """The simulated gyroscope `lag` simulation steps after each recorded sample (the last one dropped)."""
    at = np.arange(lag, t.shape[0] - DECIMATION, DECIMATION)
    return np.round(t[at], 6), gyr[at]


def _metabase(t: FloatArray, acc: FloatArray, gyro: tuple[FloatArray, FloatArray]) -> None:
    folder = HERE / "metabase"
    folder.mkdir(exist_ok=True)
    stem = "MetaWear_2023-11-14T23.13.20.000_C42732BE255C"
    local = dt.timezone(dt.timedelta(hours=1))
    tg, g = gyro
    for sensor, times, values, unit in (
        ("Accelerometer", t, acc / STANDARD_GRAVITY_MPS2, "g"),
        ("Gyroscope", tg, g, "deg/s"),
    ):
        epoch_ms = int(START_UTC.timestamp() * 1000) + np.round(times * 1000).astype(np.int64)
        lines = [f"epoch (ms),time (01:00),elapsed (s),x-axis ({unit}),y-axis ({unit}),z-axis ({unit})"]
        for ms, v in zip(epoch_ms, values, strict=True):
            when = dt.datetime.fromtimestamp(ms / 1000, tz=local).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
            elapsed = (ms - epoch_ms[0]) / 1000
            lines.append(f"{ms},{when},{elapsed:.3f},{v[0]:.3f},{v[1]:.3f},{v[2]:.3f}")
        (folder / f"{stem}_{sensor}_100.000Hz_1.7.3.csv").write_text("\n".join(lines) + "\n")


def _polar(t: FloatArray, acc: FloatArray, gyro: tuple[FloatArray, FloatArray]) -> None:
    folder = HERE / "polar"
    folder.mkdir(exist_ok=True)
    stem = "Polar_Sense_B5A3C2D1_20231114_231320"
    sensor_ns0 = int((START_UTC - POLAR_EPOCH).total_seconds()) * 1_000_000_000
    phone = dt.timezone(dt.timedelta(hours=1))
    tg, g = gyro
    mg = np.round(acc / STANDARD_GRAVITY_MPS2 * 1000).astype(np.int64)  # the SDK gives integer milli-g
    for kind, times, header, rows in (
        ("ACC", t, "X [mg];Y [mg];Z [mg]", [f"{x};{y};{z}" for x, y, z in mg]),
        ("GYRO", tg, "X [dps];Y [dps];Z [dps]", [f"{x:.4f};{y:.4f};{z:.4f}" for x, y, z in g]),
    ):
        lines = [f"Phone timestamp;sensor timestamp [ns];{header}"]
        for s, row in zip(times, rows, strict=True):
            ns = sensor_ns0 + round(s * 1e9)
            # the phone's clock receives a packet a little after the sensor stamped it
            arrival = START_UTC + dt.timedelta(seconds=float(s) + 0.045)
            lines.append(f"{arrival.astimezone(phone).strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3]};{ns};{row}")
        (folder / f"{stem}_{kind}.txt").write_text("\n".join(lines) + "\n")


def _add(archive: zipfile.ZipFile, name: str, text: str) -> None:
    """A zip member stamped with the recording's time, so regenerating gives the same bytes."""
    info = zipfile.ZipInfo(name, date_time=(2023, 11, 14, 23, 13, 20))
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, text)


def _java_scientific(v: float) -> str:
    """phyphox's number format, Java's DecimalFormat("0.000000000E0"): 1.234567890E-3."""
    mantissa, exponent = f"{v:.9E}".split("E")
    return f"{mantissa}E{int(exponent)}"


def _phyphox(t: FloatArray, acc: FloatArray, gyro: tuple[FloatArray, FloatArray]) -> None:
    folder = HERE / "phyphox"
    folder.mkdir(exist_ok=True)
    start = 0.004112  # phyphox's clock starts when the experiment is started, before the first sample
    tg, g = gyro
    sets = {
        "Accelerometer.csv": (
            ["Time (s)", "Acceleration x (m/s^2)", "Acceleration y (m/s^2)", "Acceleration z (m/s^2)"],
            np.column_stack([t + start, acc]),
        ),
        "Gyroscope.csv": (
            ["Time (s)", "Gyroscope x (rad/s)", "Gyroscope y (rad/s)", "Gyroscope z (rad/s)"],
            np.column_stack([tg + start, np.radians(g)]),
        ),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, (header, table) in sets.items():
            lines = [",".join(f'"{h}"' for h in header)]
            lines += [",".join(_java_scientific(float(v)) for v in row) for row in table]
            _add(archive, name, "\n".join(lines) + "\n")
        _add(archive, "meta/device.csv", '"property","value"\n"deviceModel","Pixel 7"\n')
        _add(
            archive,
            "meta/time.csv",
            '"event","experiment time","system time","system time text"\n'
            f'"START",0.000000000E0,{START_UTC.timestamp():.3f},"2023-11-14 23:13:20.000 UTC+01:00"\n',
        )
    (folder / "Lower back run 2023-11-14 23-13-20.zip").write_bytes(buffer.getvalue())


def _sensor_logger(t: FloatArray, acc: FloatArray, gyro: tuple[FloatArray, FloatArray]) -> None:
    """An Android export (TotalAcceleration.csv) and an iOS one (Accelerometer.csv without gravity plus
    Gravity.csv, both with iOS's opposite sign)."""
    folder = HERE / "sensor_logger"
    folder.mkdir(exist_ok=True)
    tg, g = gyro
    started_ns = START_NS - 87_000_000  # the Start tap, before the first sample
    kernel = np.ones(51) / 51  # gravity as the 0.5 s moving average: any split adds up the same
    padded = np.pad(acc, ((25, 25), (0, 0)), mode="edge")
    gravity = np.column_stack([np.convolve(padded[:, j], kernel, "valid") for j in range(3)])

    def sensor_csv(times: FloatArray, values: FloatArray) -> str:
        lines = ["time,seconds_elapsed,z,y,x"]
        for s, (x, y, z) in zip(times, values, strict=True):
            ns = START_NS + round(s * 1e9)
            lines.append(f"{ns},{(ns - started_ns) / 1e9!r},{float(z)!r},{float(y)!r},{float(x)!r}")
        return "\n".join(lines) + "\n"

    exports = {
        "android": {
            "TotalAcceleration.csv": sensor_csv(t, acc),
            "Gyroscope.csv": sensor_csv(tg, np.radians(g)),
        },
        "ios": {
            "Accelerometer.csv": sensor_csv(t, -(acc - gravity)),
            "Gravity.csv": sensor_csv(t, -gravity),
            "Gyroscope.csv": sensor_csv(tg, np.radians(g)),
        },
    }
    for platform, files in exports.items():
        metadata = (
            "version,device name,recording time,platform\n"
            f"3,{'Pixel 7' if platform == 'android' else 'iPhone 14'},2023-11-14_23-13-20,{platform}\n"
        )
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            _add(archive, "Metadata.csv", metadata)
            for name, text in files.items():
                _add(archive, name, text)
        (folder / f"2023-11-14_23-13-20_{platform}.zip").write_bytes(buffer.getvalue())


if __name__ == "__main__":
    main()
