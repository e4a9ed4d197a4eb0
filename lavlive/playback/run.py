"""A show from its settings: `play` (tracks and playlists) and `live` (a sound card's input) open what the
show needs (the sound card, the display and NDI, the stage inputs, the models) and run the player."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..audio.sources import DeviceSource
from ..devices import resolve_device, serial_here
from ..errors import LavliveError
from ..generator.runtime import check_options
from ..interrupts import signals_call
from ..output.audio import AudioOutput
from ..output.display import open_display
from ..output.display.ndi import open_ndi
from ..pipeline.live import LivePlan
from ..pipeline.model import load_model
from ..pipeline.synthesizer import SynthesisOptions
from ..presets import Preset, load_preset
from ..stage import StageLink
from ..web import open_web
from .live_player import LivePlayer
from .logs import logging_to
from .order import PlayOrder
from .player import Player, PlayOptions
from .playlist import Playlist, load_playlist
from .preparer import Preparer
from .recording import Recording, absolute
from .resume import default_state_file, read_state, resume_place
from .settings import LiveSettings, PlaySettings

if TYPE_CHECKING:
    from ..web.server import WebServer

PLAY_KEYS = "keys: space pause, n / p next / previous, f fullscreen, s stats, r new seed, q / Esc quit"
LIVE_KEYS = "keys: f fullscreen, s stats, r new seed, q / Esc quit"
MAX_BACKLOG = 0.25  # seconds of live input the analysis may fall behind before it skips to the newest


def play(settings: PlaySettings) -> int:
    """Play until the playlist ends, the user quits or a signal comes; the exit code (128 + signal if one)."""
    s = settings

    def read_playlist() -> Playlist:
        return load_playlist(s.inputs, crossfade=s.crossfade, loop=True if (s.loop or s.kiosk) else None,
                             shuffle=True if s.shuffle else None, missing="skip" if s.kiosk else "error")

    playlist = read_playlist()
    preset = load_preset(s.preset)  # a bad --preset fails now, in one line, not on stage
    check_options(s.models.precision, s.models.execution, resolve_device(s.models.device))
    state_file = s.state_file or (default_state_file() if s.kiosk or s.resume else None)
    if state_file is not None and s.state_file is None:
        try:
            state_file.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise LavliveError(f"{state_file.parent}: cannot make the state folder ({e.strerror or e}); "
                               "give --state-file") from None
    with logging_to(s.log, s.kiosk) as log_path:
        if log_path:
            logging.getLogger("lavlive.play").info("logging to %s", log_path)
        stage = s.stage.open(preset)
        web = None
        try:
            order, start = _play_order(s, playlist, read_playlist if playlist.loop else None, state_file, stage)
            web = open_web(s.stage.web, stage)
            return _play(s, order, start, state_file, stage, web)
        finally:
            if web is not None:
                web.close()
            stage.close()


def _play_order(s: PlaySettings, playlist: Playlist, reload: Callable[[], Playlist] | None, state_file: Path | None,
                stage: StageLink) -> tuple[PlayOrder, tuple[int, float]]:
    """The play order (read again each pass when looping), and where to start: from the top, or with --resume
    where the state file says, with the look it had on stage."""
    state = read_state(state_file, s.inputs) if s.resume and state_file is not None else None
    if state is None:
        return PlayOrder(playlist, reload), (0, 0.0)
    playlist.shuffle_seed = state.shuffle_seed
    order = PlayOrder(playlist, reload, first_pass=state.pass_index)
    start = resume_place(state, order)
    stage.restore(state.stage_preset(), state.values)
    entry = order.at(start[0])
    logging.getLogger("lavlive.play").info(
        "resuming at track %d/%d, %s, at %s (it was at %s when the state was saved)", start[0] + 1, entry.size,
        entry.entry.name, clock_text(start[1]), clock_text(state.seconds))
    return order, start


def show_settings(s: PlaySettings | LiveSettings) -> dict:
    """What a recording's sidecar says of the show's settings (a replay starts from them)."""
    m = s.models
    return {"inputs": list(getattr(s, "inputs", ())), "preset": s.preset, "seed": s.seed, "model": absolute(m.model),
            "encoder_weights": absolute(m.encoder_weights), "precision": m.precision}


def clock_text(seconds: float) -> str:
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"


def _play(s: PlaySettings, order: PlayOrder, start: tuple[int, float], state_file: Path | None,
          stage: StageLink, web: WebServer | None) -> int:
    log = logging.getLogger("lavlive.play")
    playlist = order.playlist
    if state_file is not None:
        log.info("keeping the show's state in %s%s", state_file, "" if s.resume else " (--resume goes on from it)")
    log.info("%d track%s%s; %s", len(playlist.entries), "" if len(playlist.entries) == 1 else "s",
             ", looping" if playlist.loop else "", PLAY_KEYS)
    with serial_here() as cores:
        audio = AudioOutput(s.audio_device)
        display = None
        ndi = open_ndi(s.display.ndi, s.fps)
        try:
            display = open_display(s.display)
            preparer = Preparer(s.models, audio.sample_rate, audio.channels, s.preset, s.seed)
            if web is not None:
                web.draw_looks(lambda: preparer.model(s.models.model), s.models)
            options = PlayOptions(fps=s.fps, display_latency=s.display_latency, stats=s.stats,
                                  frame_log=s.frame_log, kiosk=s.kiosk, synthesis_threads=cores, stage=stage, ndi=ndi,
                                  inputs=s.inputs, state_file=state_file, health_file=s.health_file, start=start,
                                  web=web, record=s.record, settings={**show_settings(s), "threads": cores})
            player = Player(order, display, audio, preparer, options)
            with signals_call(player.stop):
                code = player.run()
        finally:
            if ndi is not None:
                ndi.close()
            audio.close()
            if display is not None:
                display.close()
    log.info("stopped: %d frames shown, %d tracks played, %d skipped", player.shown, player.played, player.skipped)
    return code


def live(settings: LiveSettings) -> int:
    """Show the input's pictures until the user quits, the input fails or a signal comes; the exit code."""
    s = settings
    preset = load_preset(s.preset)
    preset.encoder.name = s.encoder
    if s.seed is not None:
        preset.modulation.seed = s.seed
    device = resolve_device(s.models.device)
    check_options(s.models.precision, s.models.execution, device)
    with logging_to(None, False):
        stage = s.stage.open(preset)
        web = None
        try:
            web = open_web(s.stage.web, stage, live=True)
            with serial_here() as cores:
                player, code = _live(s, preset, stage, cores, web)
        finally:
            if web is not None:
                web.close()
            stage.close()
        logging.getLogger("lavlive.live").info("stopped: %d frames shown", player.shown)
    return code


def _mixed(source: Iterator[np.ndarray], channels: int, recording: Recording | None = None) -> Iterator[np.ndarray]:
    """Input blocks [c, n] mixed to the encoder's channel count (and heard by the recording, if any)."""
    position = 0
    for block in source:
        if block.shape[0] == channels:
            mixed = block
        elif channels == 1:
            mixed = block.mean(axis=0, keepdims=True)
        else:
            mixed = np.repeat(block[:1], channels, axis=0)
        if recording is not None:
            recording.audio(position, mixed.T)
        position += mixed.shape[1]
        yield mixed


def _live(s: LiveSettings, preset: Preset, stage: StageLink, cores: int,
          web: WebServer | None) -> tuple[LivePlayer, int]:
    """Open the display, the models and the input, and run the live loop until it ends."""
    log = logging.getLogger("lavlive.live")
    ndi = open_ndi(s.display.ndi, s.fps)
    display = open_display(s.display)
    try:
        options = SynthesisOptions(noise_mode=preset.synthesis.noise_mode, to_host=False,
                                   precision=s.models.precision, execution=s.models.execution,
                                   canvas=s.models.canvas)
        model = load_model(s.models.model, s.models.device, options, say=print)
        path, notice = model.control_path(preset, s.models, low_latency=True)
        if web is not None:
            web.draw_looks(lambda: model, s.models)
        if notice:
            print(notice)
        rate = path.encoder.sample_rate
        source = DeviceSource(s.input_device, rate, s.channels, block_size=int(s.block_ms / 1000 * rate),
                              latency="low", max_backlog=MAX_BACKLOG)
        log.info("input: %s at %d Hz, %g ms blocks; control path lookahead %.0f ms; %s", source.name, rate,
                 s.block_ms, path.lookahead * 1000, LIVE_KEYS)
        recording = None
        if s.record is not None:
            recording = Recording(s.record, s.fps, rate, path.encoder.channels, stage, "live",
                                  {**show_settings(s), "input": source.name, "threads": cores})
            recording.journal.track(path, {"input": source.name, "from": 0.0})
        plan = LivePlan(_mixed(source, path.encoder.channels, recording), path, s.fps, model.synthesizer, stage)
        log.info("synthesis: %s on %s", model.synthesizer.describe(), model.device)
        # Synthesis leaves one core to the analysis: live, the control path must keep up with the input.
        player = LivePlayer(plan, source, display, stage, synthesis_threads=max(1, cores - 1),
                            frame_log=s.frame_log, stats=s.stats, ndi=ndi, health_file=s.health_file, web=web,
                            recording=recording)
        try:
            with signals_call(player.stop):
                return player, player.run()
        finally:
            source.close()
    finally:
        display.close()
        if ndi is not None:
            ndi.close()
