"""Audio out: the sound card, and the player's master clock.

When playing, the audio clock is master: the picture follows what is *heard*, so every frame is
chosen by `AudioOutput.clock()`, the stream position of the sample at the DAC right now. The
audio itself is never slowed, stretched or waited for to suit the picture.

The parts share state under the real-time rules ("the audio callback never blocks and never
allocates"): the callback takes no lock and creates no array, and every shared field has a single
writer, so plain assignments under the GIL are enough.

- `ring`: the preallocated sample ring; the feeder advances the write head, the consumer the read
  head, and a flush is a request the consumer applies;
- `clock`: the stamp the consumer publishes, the position it implies (never going backwards), and
  the silent clock that consumes the ring in real time when there is no device;
- `device`: finding the sound card, opening one PortAudio stream at a time bound to a generation,
  its callback, the offset to the monotonic time base, and the watchdog's checks;
- `supervisor`: the clock thread that watches the device, falls back to the silent clock, and
  switches to the device again when the re-open thread finds it;
- `stats`: the counters (`AudioStats`);
- `output`: `AudioOutput`, which composes them behind the interface the player uses.
"""

from .output import AudioOutput
from .stats import AudioStats

__all__ = ["AudioOutput", "AudioStats"]
