"""Virtual microphones for tests that record through sounddevice -> PortAudio -> ALSA.

Two devices, both real ALSA PCMs (nothing in sounddevice is mocked):

* :func:`alsa_file_device` writes an ALSA configuration whose capture PCM reads a raw
  16 kHz mono S16_LE file (ALSA ``file`` plugin over the ``null`` plugin). Capture is
  bit-exact from the first sample and not paced: reads return as fast as the CPU allows.
* :func:`pulse_null_sink` starts a private PulseAudio daemon with a null sink, and an ALSA
  ``pulse`` PCM that records the sink's monitor. Audio played with :meth:`PulseSink.play`
  is captured in real time.

PortAudio reads the ALSA configuration once, when ``sounddevice`` is imported, so capture
must run in a child process started with the device's ``env``; :func:`capture` and
:func:`capturing` do that. Use the fixtures ``alsa_file_mic`` and ``pulse_sink`` from a
test module with ``pytest_plugins = ("virtual_audio",)``. See docs/virtual-audio.md.

PYTEST_DONT_REWRITE: there are no asserts here, and the marker stops pytest warning that it
cannot rewrite this module when a test module imports it before naming it in pytest_plugins.
"""

from __future__ import annotations

import contextlib
import ctypes.util
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np
import pytest

#: The only format the devices are set up for: 16 kHz, mono, signed 16-bit little-endian.
SAMPLERATE = 16000
#: Name of the ALSA PCM (and so of the sounddevice input device) reading a file.
FILE_DEVICE = "symbl_virtual_mic"
#: Name of the ALSA PCM recording the null sink's monitor.
PULSE_DEVICE = "symbl_pulse_monitor"
#: Name of the PulseAudio null sink that :meth:`PulseSink.play` plays into.
PULSE_SINK = "symbl_test_sink"

# PortAudio 19.6 (Debian 12) aborts in BuildDeviceList (assert devIdx < numDeviceNames)
# when every ALSA PCM it lists opens successfully; it fills in "default" after that
# check, so each configuration also defines pcm.default, pointing at the test device.
_FILE_CONFIG = """\
# Capture reads {infile} (raw S16_LE, 16 kHz, mono); playback is not offered.
pcm.{name} {{
    type asym
    capture.pcm {{
        type plug
        slave {{
            pcm {{
                type file
                slave.pcm {{ type null }}
                file "/dev/null"
                infile "{infile}"
                format "raw"
            }}
            format S16_LE
            rate {rate}
            channels 1
        }}
    }}
}}
pcm.default "{name}"
"""

_PULSE_CONFIG = """\
# Capture records the monitor of the PulseAudio sink {sink}; playback is not offered.
pcm.{name} {{
    type asym
    capture.pcm {{
        type pulse
        server "{server}"
        device "{sink}.monitor"
    }}
}}
pcm.default "{name}"
"""

# norewinds=1 caps the null sink's latency at 50 ms; without it an idle null sink renders
# 2 s ahead and a new monitor stream gets its first data only after about 2 s.
_PULSE_SCRIPT = """\
load-module module-null-sink sink_name={sink} rate={rate} channels=1 format=s16le norewinds=1
load-module module-native-protocol-unix socket={socket} auth-anonymous=1
"""

_PULSE_CLIENT_CONFIG = """\
autospawn = no
enable-shm = no
enable-memfd = no
"""

# Runs in the child process: records `frames` frames, touches `ready` once the first block
# has arrived, writes the raw samples to `out` and a JSON report to stdout.
_RECORDER = """\
import json, sys, threading, time
import sounddevice as sd

device, rate, frames, blocksize, mode, ready, out = sys.argv[1:]
rate, frames, blocksize = int(rate), int(frames), int(blocksize)
chunks, statuses, times = [], [], {}
first, done = threading.Event(), threading.Event()

def keep(data, status):
    if status:
        statuses.append(str(status))
    chunks.append(bytes(data))
    if not first.is_set():
        times["first_block"] = time.monotonic()
        times["first_frames"] = len(chunks[0]) // 2
        first.set()
    if sum(map(len, chunks)) >= 2 * frames:
        done.set()
        return True
    return False

def on_block(indata, count, when, status):
    if keep(indata, status):
        raise sd.CallbackStop

options = dict(samplerate=rate, channels=1, dtype="int16", device=device,
               blocksize=blocksize)
times["started"] = time.monotonic()
if mode == "callback":
    with sd.RawInputStream(callback=on_block, **options) as stream:
        first.wait(30)
        open(ready, "w").close()
        done.wait(30 + frames / rate)
        times["finished"] = time.monotonic()
        latency = stream.latency
else:
    with sd.RawInputStream(**options) as stream:
        step = blocksize or 160
        while not done.is_set():
            left = frames - sum(map(len, chunks)) // 2
            data, overflowed = stream.read(min(step, left))
            keep(data, "input overflow" if overflowed else "")
            if len(chunks) == 1:
                open(ready, "w").close()
        times["finished"] = time.monotonic()
        latency = stream.latency
with open(out, "wb") as sink:
    sink.write(b"".join(chunks)[: 2 * frames])
json.dump(dict(times, statuses=statuses, latency=latency), sys.stdout)
"""


class Device(Protocol):
    """What :func:`capture` needs: the child environment and the sounddevice device."""

    @property
    def env(self) -> dict[str, str]: ...

    @property
    def device(self) -> str: ...


@dataclass(frozen=True)
class VirtualDevice:
    """An ALSA capture device that plays back ``samples`` from a raw file.

    Attributes:
        env: Complete environment for a child process (``ALSA_CONFIG_PATH`` set).
        device: Device name to pass to sounddevice (an ALSA PCM name).
        samples: The int16 samples capture returns, from the first one on.
        config: The ALSA configuration file.
        samplerate: Sample rate the samples are meant for.
    """

    env: dict[str, str]
    device: str
    samples: np.ndarray
    config: Path
    samplerate: int = SAMPLERATE


@dataclass(frozen=True)
class PulseSink:
    """A private PulseAudio null sink, recorded through the ALSA ``pulse`` plugin.

    Attributes:
        env: Complete environment for a child process (ALSA and PulseAudio client set-up).
        device: Device name to pass to sounddevice: the ALSA PCM recording the monitor.
        sink: The PulseAudio sink name, for ``paplay --device``.
        server: The PulseAudio server address (``unix:<socket>``).
        config: The ALSA configuration file.
        log: The daemon's log file.
        samplerate: The sink's sample rate.
    """

    env: dict[str, str]
    device: str
    sink: str
    server: str
    config: Path
    log: Path
    samplerate: int = SAMPLERATE

    def play(self, wav: Path, timeout: float | None = None) -> None:
        """Play a WAV file into the sink and return once it has been played.

        Args:
            wav: The file to play.
            timeout: Seconds to allow; by default the file's duration plus 10 s.

        Raises:
            subprocess.CalledProcessError: If ``paplay`` fails.
            subprocess.TimeoutExpired: If it takes longer than ``timeout``.
        """
        if timeout is None:
            with wave.open(str(wav), "rb") as reader:
                timeout = reader.getnframes() / reader.getframerate() + 10.0
        command = ["paplay", "--latency-msec=20", f"--device={self.sink}", str(wav)]
        subprocess.run(command, env=self.env, check=True, capture_output=True, timeout=timeout)


@dataclass(frozen=True)
class Capture:
    """What a child process recorded.

    Attributes:
        samples: The recorded int16 samples.
        started: ``time.monotonic()`` just before the stream was opened.
        first_block: ``time.monotonic()`` when the first block had arrived.
        first_frames: How many frames the first block held.
        finished: ``time.monotonic()`` when the last block had arrived.
        latency: The input latency PortAudio reported, in seconds.
        statuses: Non-empty PortAudio callback statuses (overflows), in order.
    """

    samples: np.ndarray
    started: float
    first_block: float
    first_frames: int
    finished: float
    latency: float
    statuses: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        """Wall-clock seconds from opening the stream to the last block."""
        return self.finished - self.started


def missing_package(*packages: str) -> str | None:
    """Say why the first of ``packages`` that is not usable here is missing.

    Args:
        packages: Debian package names, from ``libportaudio2``, ``libasound2-plugins``,
            ``pulseaudio`` and ``pulseaudio-utils``.

    Returns:
        A skip reason naming the package, or None when all of them are usable.
    """
    for package in packages:
        missing = _MISSING[package]()
        if missing:
            return (
                f"virtual audio needs the Debian package {package} ({missing}); "
                f"install it with: apt-get install {package}"
            )
    return None


def require_packages(*packages: str) -> None:
    """Skip the calling test unless ``packages`` are usable (see :func:`missing_package`)."""
    reason = missing_package(*packages)
    if reason:
        pytest.skip(reason)


def _missing_portaudio() -> str:
    # The way sounddevice itself finds PortAudio on Linux.
    return "" if ctypes.util.find_library("portaudio") else "no libportaudio.so.2 found"


def _missing_alsa_pulse_plugin() -> str:
    directories = [os.environ.get("ALSA_PLUGIN_DIR", ""), "/usr/lib/*/alsa-lib"]
    directories += ["/usr/lib/alsa-lib", "/usr/lib64/alsa-lib"]
    for directory in filter(None, directories):
        if glob.glob(os.path.join(directory, "libasound_module_pcm_pulse.so")):
            return ""
    return "no ALSA plugin libasound_module_pcm_pulse.so found"


def _missing_program(name: str) -> Callable[[], str]:
    return lambda: "" if shutil.which(name) else f"no {name} on PATH"


_MISSING: dict[str, Callable[[], str]] = {
    "libportaudio2": _missing_portaudio,
    "libasound2-plugins": _missing_alsa_pulse_plugin,
    "pulseaudio": _missing_program("pulseaudio"),
    "pulseaudio-utils": lambda: _missing_program("paplay")() or _missing_program("pactl")(),
}


def _child_env(**extra: str) -> dict[str, str]:
    """This process's environment without ALSA/PulseAudio routing variables, plus ``extra``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key != "ALSA_CONFIG_PATH" and not key.startswith("PULSE_")
    }
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def alsa_file_device(
    directory: Path, samples: np.ndarray, *, name: str = FILE_DEVICE
) -> VirtualDevice:
    """Write an ALSA configuration whose capture device returns ``samples``.

    Every time the device is opened it starts again from the first sample; recording
    more frames than there are samples returns unspecified data after the end.

    Args:
        directory: Where to write the raw file and the configuration (created if needed).
        samples: 1-D int16 samples at 16 kHz.
        name: The ALSA PCM name, which is also the sounddevice device name.

    Returns:
        The device; record from it in a child process started with its ``env``.
    """
    require_packages("libportaudio2")
    samples = np.asarray(samples)
    if samples.dtype != np.int16 or samples.ndim != 1:
        raise ValueError(f"expected 1-D int16 samples, got {samples.dtype} {samples.shape}")
    directory.mkdir(parents=True, exist_ok=True)
    infile = directory / f"{name}.raw"
    samples.astype("<i2").tofile(infile)
    config = directory / "asound.conf"
    config.write_text(_FILE_CONFIG.format(name=name, infile=infile, rate=SAMPLERATE))
    return VirtualDevice(
        env=_child_env(ALSA_CONFIG_PATH=str(config)),
        device=name,
        samples=samples.copy(),
        config=config,
    )


@contextlib.contextmanager
def pulse_null_sink(directory: Path, *, start_timeout: float = 10.0) -> Iterator[PulseSink]:
    """Run a private PulseAudio daemon with a null sink for the duration of the block.

    The daemon runs as the current user (as root it only warns that it is not meant
    to), with its runtime, state and configuration in temporary directories, no shared
    memory, and no D-Bus. It is stopped, and its files removed, however the block exits.

    Args:
        directory: Where to write the configuration and the daemon's log.
        start_timeout: Seconds to wait for the daemon's socket.

    Yields:
        The sink, ready to play into and to record from.

    Raises:
        RuntimeError: If the daemon exits, does not listen in time, or lacks the sink.
    """
    require_packages("libportaudio2", "libasound2-plugins", "pulseaudio", "pulseaudio-utils")
    directory.mkdir(parents=True, exist_ok=True)
    # A short path of its own: a Unix socket path must fit in 108 bytes.
    runtime = Path(tempfile.mkdtemp(prefix="symbl-pulse-"))
    daemon: subprocess.Popen[bytes] | None = None
    try:
        sink = _write_pulse_files(directory, runtime)
        private = {
            "HOME": str(runtime),
            "XDG_RUNTIME_DIR": str(runtime),
            "XDG_CONFIG_HOME": str(runtime / "config"),
            "PULSE_RUNTIME_PATH": str(runtime),
            "PULSE_STATE_PATH": str(runtime / "state"),
            "PULSE_CLIENTCONFIG": sink.env["PULSE_CLIENTCONFIG"],
            "DBUS_SESSION_BUS_ADDRESS": "disabled:",
        }
        command = [
            "pulseaudio", "-n", f"--file={directory / 'daemon.pa'}", "--daemonize=no",
            "--exit-idle-time=-1", "--use-pid-file=no", "--disable-shm=yes",
            "--enable-memfd=no", "--realtime=no", "--high-priority=no", "--no-cpu-limit=yes",
            "--log-target=stderr",
        ]  # fmt: skip
        with sink.log.open("wb") as log_file:
            daemon = subprocess.Popen(
                command,
                env=_child_env(**private),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait_until_ready(daemon, sink, runtime / "native", start_timeout)
        yield sink
    finally:
        if daemon is not None:
            _stop(daemon)
        shutil.rmtree(runtime, ignore_errors=True)


def _write_pulse_files(directory: Path, runtime: Path) -> PulseSink:
    """Write the daemon script, client and ALSA configurations; describe the sink."""
    socket = runtime / "native"
    server = f"unix:{socket}"
    script = _PULSE_SCRIPT.format(sink=PULSE_SINK, rate=SAMPLERATE, socket=socket)
    (directory / "daemon.pa").write_text(script)
    client_config = directory / "client.conf"
    client_config.write_text(_PULSE_CLIENT_CONFIG)
    config = directory / "asound.conf"
    config.write_text(_PULSE_CONFIG.format(name=PULSE_DEVICE, server=server, sink=PULSE_SINK))
    return PulseSink(
        env=_child_env(
            ALSA_CONFIG_PATH=str(config),
            PULSE_SERVER=server,
            PULSE_CLIENTCONFIG=str(client_config),
            DBUS_SESSION_BUS_ADDRESS="disabled:",
        ),
        device=PULSE_DEVICE,
        sink=PULSE_SINK,
        server=server,
        config=config,
        log=directory / "pulseaudio.log",
    )


def _wait_until_ready(
    daemon: subprocess.Popen[bytes], sink: PulseSink, socket: Path, timeout: float
) -> None:
    """Wait until the daemon listens on ``socket``, then check that it has the sink.

    The daemon carries on when a module fails to load, so the socket alone does not
    prove that the sink exists.
    """
    deadline = time.monotonic() + timeout
    while not socket.is_socket():
        if daemon.poll() is not None:
            raise RuntimeError(
                f"pulseaudio exited with {daemon.returncode}:\n{sink.log.read_text()}"
            )
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"pulseaudio did not listen within {timeout} s:\n{sink.log.read_text()}"
            )
        time.sleep(0.005)
    sinks = subprocess.run(
        ["pactl", "list", "short", "sinks"],
        env=sink.env,
        capture_output=True,
        text=True,
        timeout=max(deadline - time.monotonic(), 1.0),
    )
    if sink.sink not in sinks.stdout.split():
        raise RuntimeError(f"pulseaudio has no sink {sink.sink}:\n{sink.log.read_text()}")


def _stop(process: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
    """Terminate ``process``, killing it if it does not exit within ``timeout``."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)


class CaptureProcess:
    """A child process recording from a device; see :func:`capturing`."""

    def __init__(self, process: subprocess.Popen[str], ready: Path, out: Path) -> None:
        """Wrap a started recorder whose marker and output files are ``ready`` and ``out``."""
        self._process = process
        self._ready = ready
        self._out = out

    def wait_until_recording(self, timeout: float = 15.0) -> None:
        """Wait until the first block has arrived in the child.

        Raises:
            RuntimeError: If the child exits first or ``timeout`` seconds pass.
        """
        deadline = time.monotonic() + timeout
        while not self._ready.exists():
            if self._process.poll() is not None:
                raise RuntimeError(f"recorder exited early: {self._process.communicate()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"recorder got no audio within {timeout} s")
            time.sleep(0.002)

    def result(self, timeout: float) -> Capture:
        """Wait for the child to finish and return what it recorded.

        Raises:
            RuntimeError: If the child fails.
            subprocess.TimeoutExpired: If it runs longer than ``timeout`` seconds.
        """
        stdout, stderr = self._process.communicate(timeout=timeout)
        code = self._process.returncode
        if code < 0:
            # sounddevice hides stderr while PortAudio initialises, so an abort there is silent.
            raise RuntimeError(f"recorder killed by signal {-code}:\n{stderr}")
        if code != 0:
            raise RuntimeError(f"recorder failed with exit status {code}:\n{stderr}")
        report = json.loads(stdout)
        return Capture(
            samples=np.fromfile(self._out, dtype="<i2"),
            started=report["started"],
            first_block=report["first_block"],
            first_frames=report["first_frames"],
            finished=report["finished"],
            latency=report["latency"],
            statuses=report["statuses"],
        )


@contextlib.contextmanager
def capturing(
    device: Device, frames: int, *, mode: str = "read", blocksize: int = 0
) -> Iterator[CaptureProcess]:
    """Record ``frames`` frames from ``device`` in a child process, in the background.

    The child opens ``sounddevice.RawInputStream(samplerate=16000, channels=1,
    dtype="int16", device=device.device, blocksize=blocksize)`` and either reads it in
    blocks (``mode="read"``) or collects blocks from a callback (``mode="callback"``).
    The child is killed if it is still running when the block exits.

    Args:
        device: Where to record from.
        frames: How many frames to record.
        mode: ``"read"`` (blocking reads) or ``"callback"``.
        blocksize: PortAudio block size (0: PortAudio chooses; 160 frames per read).

    Yields:
        The running recorder.
    """
    if mode not in ("read", "callback"):
        raise ValueError(f"mode must be 'read' or 'callback', not {mode!r}")
    with tempfile.TemporaryDirectory(prefix="symbl-capture-") as work:
        ready, out = Path(work, "ready"), Path(work, "samples.raw")
        arguments = [device.device, str(SAMPLERATE), str(frames), str(blocksize), mode]
        arguments += [str(ready), str(out)]
        command = [sys.executable, "-c", _RECORDER, *arguments]
        with subprocess.Popen(
            command, env=device.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        ) as process:
            try:
                yield CaptureProcess(process, ready, out)
            finally:
                if process.poll() is None:
                    process.kill()


def capture(
    device: Device, frames: int, *, mode: str = "read", blocksize: int = 0, timeout: float = 20.0
) -> Capture:
    """Record ``frames`` frames from ``device`` in a child process and return them.

    Args:
        device: Where to record from.
        frames: How many frames to record.
        mode: ``"read"`` (blocking reads) or ``"callback"``.
        blocksize: PortAudio block size (0: PortAudio chooses).
        timeout: Seconds to allow beyond the recording's duration.
    """
    with capturing(device, frames, mode=mode, blocksize=blocksize) as recorder:
        return recorder.result(timeout + frames / SAMPLERATE)


def list_devices(env: dict[str, str], timeout: float = 20.0) -> list[dict[str, Any]]:
    """``sounddevice.query_devices()`` as seen by a child process started with ``env``.

    Returns:
        One dict per device, with ``index``, ``name``, ``max_input_channels``,
        ``max_output_channels`` and ``default_input`` (whether it is the default input).
    """
    code = (
        "import json, sounddevice as sd\n"
        "default = sd.default.device[0]\n"
        "print(json.dumps([dict(index=d['index'], name=d['name'],"
        " max_input_channels=d['max_input_channels'],"
        " max_output_channels=d['max_output_channels'], default_input=d['index'] == default)"
        " for d in sd.query_devices()]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )
    return list(json.loads(done.stdout))


def write_wav(path: Path, samples: np.ndarray, samplerate: int = SAMPLERATE) -> Path:
    """Write mono int16 ``samples`` as a WAV file and return its path."""
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(samplerate)
        writer.writeframes(np.asarray(samples, dtype="<i2").tobytes())
    return path


def chirp(
    seconds: float, low: float = 300.0, high: float = 3000.0, level: float = 0.5
) -> np.ndarray:
    """A linear sine sweep from ``low`` to ``high`` Hz as int16 samples at 16 kHz."""
    times = np.arange(int(seconds * SAMPLERATE)) / SAMPLERATE
    phase = 2 * np.pi * (low * times + (high - low) * times**2 / (2 * seconds))
    return np.round(level * 32767 * np.sin(phase)).astype(np.int16)


@pytest.fixture
def alsa_file_mic(tmp_path: Path) -> Callable[[np.ndarray], VirtualDevice]:
    """A factory for ALSA file-backed microphones: ``alsa_file_mic(samples)``.

    Skips the test when PortAudio (``libportaudio2``) is missing.
    """
    require_packages("libportaudio2")
    made: list[VirtualDevice] = []

    def make(samples: np.ndarray) -> VirtualDevice:
        made.append(alsa_file_device(tmp_path / f"alsa-file-{len(made)}", samples))
        return made[-1]

    return make


@pytest.fixture
def pulse_sink(tmp_path: Path) -> Iterator[PulseSink]:
    """A private PulseAudio null sink, recorded through ALSA, stopped after the test.

    Skips the test when ``libportaudio2``, ``libasound2-plugins``, ``pulseaudio`` or
    ``pulseaudio-utils`` is missing.
    """
    with pulse_null_sink(tmp_path / "pulse") as sink:
        yield sink
