"""A soak: `lavlive play --kiosk` on a looping playlist for a long time, with the faults an installation meets.

    python benchmarks/soak.py --minutes 30                  # a window on Xvfb, sound into a PulseAudio null sink
    python benchmarks/soak.py --minutes 120 --model tiny    # a 64×64 network: the player's own costs stand out
    python benchmarks/soak.py --minutes 30 --headless       # --no-window --ndi (NDI kept on loopback)

Starts its own Xvfb and PulseAudio server (private sockets: nothing else on the machine is touched) and a
kiosk on an M3U playlist of short demo tracks (different tempos, crossfaded), then every few seconds reads
the kiosk's resident memory, threads and open files from /proc and its --health-file (frames shown, skipped
and dropped, A/V offset p95, warnings and errors). Every `--fault-every` minutes it injects, in turn:

    sound        the sound server killed and started again
    delete       a track file deleted (put back 2.5 minutes later, or 0.4 of a fault round if that is shorter)
    replace      a track file overwritten in place with other music
    playlist     the playlist file edited: a new track appended (it must play in a later loop)
    disk-full    the log file swapped for /dev/full (ENOSPC on every line) for a minute (at most 0.1 of a round)

A fault is survived when frames are still reaching the screen 30 s later (and for `playlist`, when the new
track has played by the end). Writes soak.csv and soak.png into --out, and prints growth per hour of RSS,
threads and fds (least squares after the warm-up), frames/s, the worst minute, the A/V offset p95 over the
first and last five minutes, and the faults.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from lavlive.audio.demo import demo_track, write_wav

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from services import launch_xvfb  # noqa: E402  (the real X server the tests use)

RATE = 44100
FAULTS = ("sound", "delete", "replace", "playlist", "disk-full")
COLUMNS = ("seconds", "rss_mib", "threads", "fds", "fps", "frames_shown", "frames_skipped", "frames_dropped",
           "av_offset_ms_p95", "frame_age_s", "warnings", "errors", "tracks_played", "tracks_skipped", "track")


@dataclasses.dataclass
class Fault:
    name: str
    at: float  # seconds into the soak
    survived: bool | None = None
    note: str = ""


class Pulse:
    """A PulseAudio server of our own, on a private socket, that can be killed and started again."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.env = {"PULSE_RUNTIME_PATH": str(folder), "PULSE_SERVER": f"unix:{folder}/native",
                    "PULSE_STATE_PATH": str(folder)}
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(["pulseaudio", "--daemonize=no", "--exit-idle-time=-1", "--disallow-exit",
                                      "-n", "--load=module-null-sink", "--load=module-native-protocol-unix",
                                      "--log-target=stderr"], env={**os.environ, **self.env},
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        for _ in range(100):
            if subprocess.run(["pactl", "info"], env={**os.environ, **self.env}, capture_output=True).returncode == 0:
                return
            time.sleep(0.1)
        raise SystemExit("soak: PulseAudio did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


class Soak:
    def __init__(self, args: argparse.Namespace, work: Path, out: Path) -> None:
        self.args, self.work, self.out = args, work, out
        self.tracks = [work / f"track{k}.wav" for k in range(args.tracks)]
        self.playlist, self.log = work / "set.m3u", work / "kiosk.log"
        self.health, self.state = work / "health.json", work / "show.json"
        self.pulse = Pulse(work / "pulse")
        self.rows: list[dict] = []
        self.faults: list[Fault] = []
        self.added: list[Path] = []
        self.held: dict[str, object] = {}  # what a fault took away, to put back

    def prepare(self) -> list[str]:
        for k, track in enumerate(self.tracks):
            write_wav(track, demo_track(self.args.track_seconds, RATE, bpm=96 + 12 * k, seed=k), RATE)
        self.playlist.write_text("".join(f"{t.name}\n" for t in self.tracks))
        model = []
        if self.args.model == "tiny":
            from lavlive.generator import Generator, GeneratorConfig, save_generator
            import torch

            torch.manual_seed(64)
            save_generator(Generator(GeneratorConfig(z_dim=64, w_dim=64, img_resolution=64, channel_base=1024,
                                                     channel_max=64, mapping_layers=2)).eval(), self.work / "tiny.pt")
            model = ["--model", str(self.work / "tiny.pt")]
        elif self.args.model:
            model = ["--model", self.args.model]
        window = ["--no-window", "--ndi", "lavlive-soak"] if self.args.headless else ["--size", "640x360"]
        return [sys.executable, "-m", "lavlive", "play", str(self.playlist), "--kiosk", "--crossfade", "2",
                "--log", str(self.log), "--health-file", str(self.health), "--state-file", str(self.state),
                "--fps", str(self.args.fps), *model, *window]

    # -- faults --------------------------------------------------------------------------------

    def inject(self, name: str, at: float) -> None:
        fault = Fault(name, at)
        self.faults.append(fault)
        if name == "sound":
            self.pulse.stop()
            time.sleep(2.0)
            self.pulse.start()
        elif name == "delete":
            victim = self.tracks[1]
            self.held["delete"] = (victim, victim.read_bytes(), at + min(150.0, 24 * self.args.fault_every))
            victim.unlink()
        elif name == "replace":
            victim = self.tracks[2]
            # Truncated and written in place, as a copy over it would: the kiosk may be reading it.
            write_wav(victim, demo_track(self.args.track_seconds, RATE, bpm=150, seed=100 + len(self.faults)), RATE)
        elif name == "playlist":
            new = self.work / f"added{len(self.added)}.wav"
            write_wav(new, demo_track(self.args.track_seconds, RATE, bpm=110, seed=200 + len(self.added)), RATE)
            self.added.append(new)
            with open(self.playlist, "a") as f:
                f.write(f"{new.name}\n")
            fault.note = new.name
        elif name == "disk-full":
            aside = self.work / "kiosk.log.aside"
            shutil.move(self.log, aside)
            self.log.symlink_to("/dev/full")
            self.held["disk-full"] = (aside, at + min(60.0, 6 * self.args.fault_every))
        print(f"  {at / 60:6.1f} min  fault: {name} {fault.note}", flush=True)

    def put_back(self, now: float) -> None:
        if "delete" in self.held and now >= self.held["delete"][2]:
            victim, data, _ = self.held.pop("delete")
            victim.write_bytes(data)
        if "disk-full" in self.held and now >= self.held["disk-full"][1]:
            aside, _ = self.held.pop("disk-full")
            self.log.unlink()
            shutil.move(aside, self.log)

    def judge(self) -> None:
        """A fault is survived when frames were reaching the screen 30 s after it (a new track: when it played)."""
        played = self.log.read_text(errors="replace") if self.log.exists() else ""
        for fault in self.faults:
            after = [r for r in self.rows if fault.at + 30 <= r["seconds"] <= fault.at + 60]
            before = [r for r in self.rows if r["seconds"] <= fault.at]
            fault.survived = bool(after and before and after[-1]["frames_shown"] > before[-1]["frames_shown"]
                                  and after[-1]["frame_age_s"] < 2.0)
            if fault.name == "playlist":
                heard = f": {fault.note} (" in played
                loop = (len(self.tracks) + len(self.added)) * self.args.track_seconds
                if not heard and self.rows[-1]["seconds"] - fault.at < 2 * loop + 30:
                    fault.survived, fault.note = None, fault.note + " not yet due"  # it joins the next pass's end
                    continue
                fault.survived = fault.survived and heard
                fault.note += " played" if heard else " NOT played"

    # -- the run -------------------------------------------------------------------------------

    def sample(self, pid: int, start: float) -> None:
        row: dict = {"seconds": round(time.monotonic() - start, 1)}
        try:
            with open(f"/proc/{pid}/statm") as f:
                row["rss_mib"] = round(int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)
            row["threads"] = len(os.listdir(f"/proc/{pid}/task"))
            row["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
            health = json.loads(self.health.read_text())
        except (OSError, ValueError):
            return
        for key in ("fps", "frames_shown", "frames_skipped", "frames_dropped", "av_offset_ms_p95", "warnings",
                    "errors", "tracks_played", "tracks_skipped", "track"):
            row[key] = health.get(key)
        row["frame_age_s"] = round(time.time() - (health.get("last_frame") or 0), 2)
        self.rows.append(row)

    def run(self) -> int:
        command = self.prepare()
        env = {**os.environ, **self.pulse.env, "PYTHONUNBUFFERED": "1", "TQDM_DISABLE": "1"}
        xvfb = None
        if self.args.headless:
            env.pop("DISPLAY", None)
            ndi = self.work / "ndi"
            ndi.mkdir()
            (ndi / "ndi-config.v1.json").write_text(json.dumps({"ndi": {"networks": {"ips": "127.0.0.1"}}}))
            env["NDI_CONFIG_DIR"] = str(ndi)
        else:
            display, xvfb = launch_xvfb([])
            if display is None:
                raise SystemExit("soak: Xvfb did not start")
            env["DISPLAY"] = display
        self.pulse.start()
        print(f"soak: {self.args.minutes:g} min, {len(self.tracks)} tracks of {self.args.track_seconds:g} s, "
              f"model {self.args.model or 'embedded default'}, {self.args.fps} fps, "
              f"{'headless (NDI)' if self.args.headless else 'window on Xvfb'}; results in {self.out}", flush=True)
        kiosk = subprocess.Popen(command, cwd=self.work, env=env, stdout=open(self.work / "kiosk.out", "w"),
                                 stderr=subprocess.STDOUT)
        start = time.monotonic()
        period = self.args.fault_every * 60
        schedule = [(period * c + period * (k + 1) / (len(FAULTS) + 1), name)
                    for c in range(int(self.args.minutes * 60 // period) + 1) for k, name in enumerate(FAULTS)]
        schedule = [s for s in schedule if s[0] < self.args.minutes * 60 - 60] if self.args.faults else []
        try:
            while (now := time.monotonic() - start) < self.args.minutes * 60:
                if kiosk.poll() is not None:
                    print(f"soak: the kiosk ended with code {kiosk.returncode} after {now / 60:.1f} min", flush=True)
                    break
                while schedule and schedule[0][0] <= now:
                    self.inject(schedule.pop(0)[1], now)
                self.put_back(now)
                self.sample(kiosk.pid, start)
                if self.rows and len(self.rows) % 60 == 0:
                    self.write_csv()  # as it goes: a soak stopped early still leaves its figures
                if len(self.rows) % max(1, int(300 / self.args.every)) == 0 and self.rows:
                    r = self.rows[-1]
                    print(f"  {now / 60:6.1f} min  RSS {r['rss_mib']:.0f} MiB, {r['threads']} threads, {r['fds']} fds, "
                          f"{r['fps']} fps, skipped {r['frames_skipped']}, A/V p95 {r['av_offset_ms_p95']} ms",
                          flush=True)
                time.sleep(self.args.every)
        finally:
            code = kiosk.poll()
            if code is None:
                kiosk.send_signal(signal.SIGTERM)
                try:
                    code = kiosk.wait(30)
                except subprocess.TimeoutExpired:
                    kiosk.kill()
                    code = "killed after 30 s"
            self.put_back(float("inf"))
            self.pulse.stop()
            if xvfb is not None:
                xvfb.kill()
        self.judge()
        self.out.mkdir(parents=True, exist_ok=True)
        for name in ("kiosk.out", "kiosk.log"):  # what the kiosk said, beside the figures
            if (self.work / name).is_file():
                shutil.copy(self.work / name, self.out / name)
        self.report(code)
        return 0

    # -- what it found -------------------------------------------------------------------------

    def write_csv(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        with open(self.out / "soak.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, COLUMNS)
            writer.writeheader()
            writer.writerows(self.rows)

    def report(self, code: object) -> None:
        self.write_csv()
        rows = self.rows
        if len(rows) < 4:
            print("soak: too few samples to report")
            return
        t = np.array([r["seconds"] for r in rows])
        warm = t >= min(self.args.warmup * 60, t[-1] / 3)
        lines = [f"kiosk exit: {code} (143 = SIGTERM at the end, as asked)",
                 f"samples: {len(rows)} over {t[-1] / 60:.1f} min"]
        half = t >= t[-1] / 2
        for key, unit in (("rss_mib", "MiB"), ("threads", "threads"), ("fds", "fds")):
            y = np.array([r[key] for r in rows], float)
            slope, late = (np.polyfit(t[part], y[part], 1)[0] * 3600 for part in (warm, half))
            lines.append(f"{key}: {y[warm][0]:.0f} after warm-up → {y[-1]:.0f} at the end, max {y.max():.0f}; "
                         f"growth {slope:+.2f} {unit}/hour after warm-up, {late:+.2f} {unit}/hour over the last half")
        shown = np.array([r["frames_shown"] for r in rows], float)
        skipped = np.array([r["frames_skipped"] for r in rows], float)
        minute = (t // 60).astype(int)
        rates = {m: (shown[minute == m][-1] - shown[minute == m][0]) / max(1e-9, t[minute == m][-1] - t[minute == m][0])
                 for m in np.unique(minute) if (minute == m).sum() >= 3}
        worst = min(rates, key=rates.get)
        fps = (shown[-1] - shown[warm][0]) / (t[-1] - t[warm][0])
        lines.append(f"frames/s: {fps:.1f} overall after warm-up; worst minute {worst}: {rates[worst]:.1f} fps "
                     f"(skipped {skipped[minute == worst][-1] - skipped[minute == worst][0]:.0f} frames in it); "
                     f"skipped {skipped[-1]:.0f}, dropped {rows[-1]['frames_dropped']} in all")
        p95 = np.array([r["av_offset_ms_p95"] if r["av_offset_ms_p95"] is not None else np.nan for r in rows], float)
        first, last = warm & (t <= t[warm][0] + 300), t >= t[-1] - 300
        lines.append(f"A/V offset p95: {np.nanmedian(p95[first]):.1f} ms in the first 5 min, "
                     f"{np.nanmedian(p95[last]):.1f} ms in the last 5 min (max {np.nanmax(p95):.1f})")
        lines.append(f"warnings {rows[-1]['warnings']}, errors {rows[-1]['errors']}, tracks played "
                     f"{rows[-1]['tracks_played']}, skipped {rows[-1]['tracks_skipped']}")
        survived = sum(bool(f.survived) for f in self.faults)
        judged = sum(f.survived is not None for f in self.faults)
        lines.append(f"faults: {len(self.faults)} injected, {survived} of {judged} judged survived: " +
                     ", ".join(f"{f.name}@{f.at / 60:.1f}min{' FAILED' if f.survived is False else ''}"
                               f"{' (' + f.note + ')' if f.note else ''}" for f in self.faults))
        text = "\n".join(lines)
        print(text)
        (self.out / "summary.txt").write_text(text + "\n")
        self.plot(t, rows)

    def plot(self, t: np.ndarray, rows: list[dict]) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        minutes = t / 60
        fig, axes = plt.subplots(4, 1, figsize=(10, 9), sharex=True)
        axes[0].plot(minutes, [r["rss_mib"] for r in rows])
        axes[0].set_ylabel("RSS (MiB)")
        axes[1].plot(minutes, [r["threads"] for r in rows], label="threads")
        axes[1].plot(minutes, [r["fds"] for r in rows], label="open files")
        axes[1].legend(loc="upper left")
        axes[2].plot(minutes, [r["fps"] for r in rows], label="frames/s")
        axes[2].set_ylabel("frames/s")
        axes[3].plot(minutes, [r["av_offset_ms_p95"] for r in rows])
        axes[3].set_ylabel("A/V offset p95 (ms)")
        axes[3].set_xlabel("minutes")
        for fault in self.faults:
            for ax in axes:
                ax.axvline(fault.at / 60, color="red" if fault.survived is False else "grey", lw=0.8, ls="--")
            axes[0].annotate(fault.name, (fault.at / 60, axes[0].get_ylim()[1]), fontsize=7, rotation=90, va="top")
        fig.suptitle(f"lavlive play --kiosk soak: {len(self.tracks)} tracks looping, "
                     f"model {self.args.model or 'embedded default'}")
        fig.tight_layout()
        fig.savefig(self.out / "soak.png", dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--model", default=None, help="a checkpoint, 'tiny' (64×64), or the embedded default")
    parser.add_argument("--fps", default="30")
    parser.add_argument("--tracks", type=int, default=4)
    parser.add_argument("--track-seconds", type=float, default=20.0)
    parser.add_argument("--every", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--fault-every", type=float, default=10.0, help="minutes per round of the five faults")
    parser.add_argument("--no-faults", dest="faults", action="store_false")
    parser.add_argument("--warmup", type=float, default=3.0, help="minutes left out of the growth figures")
    parser.add_argument("--headless", action="store_true", help="--no-window --ndi instead of a window")
    parser.add_argument("--out", type=Path, default=Path("soak-results"))
    args = parser.parse_args()
    for tool in ("pulseaudio", "pactl") + (() if args.headless else ("Xvfb",)):
        if shutil.which(tool) is None:
            raise SystemExit(f"soak: {tool} is not installed (bash scripts/setup.sh --test)")
    with tempfile.TemporaryDirectory(prefix="lavlive-soak-") as work:
        sys.exit(Soak(args, Path(work), args.out).run())


if __name__ == "__main__":
    main()
