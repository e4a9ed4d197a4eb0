"""The counters of an `AudioOutput`: what the player logs and the tests check about the sound card."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class AudioStats:
    """Counters of an `AudioOutput`; each field has a single writer."""

    underruns: int = 0  # consumer passes that ran dry (not paused) before end_of_stream
    reopened: int = 0  # times the device came back after a loss or a failed open
    device_losses: int = 0  # times the device was lost mid-stream
    delivered: int = 0  # samples taken from the ring by the device or the silent clock
    xruns: int = 0  # callbacks where PortAudio itself reported an output underflow
