"""Shows: `lavlive play` (tracks and playlists, on the audio clock) and `lavlive live` (a sound card's input).

    settings     what the commands were asked (PlaySettings, LiveSettings: ShowSettings and their own)
    run          play() and live(): open what a show needs and run its player
    player       the play loop on the audio clock, a Show per run of the setlist
    live_player  the live loop: the newest frame at once, model switches loaded in the background
    presenter    what both do with a finished frame: the display, NDI, the keys they share, the stats
    playlist     inputs (files, folders, M3U, TOML) → entries
    order        the play order pass after pass, the playlist read again at each loop
    preparer     tracks made ready in the background (model, control path, first block)
    feeder       the tracks' audio decoded and crossfaded into the sound card: the timeline the picture follows
    logs         where a show's log lines go (a kiosk keeps a file)
    resume       the state a show keeps every few seconds, and where --resume starts it again
    health       a health line every second for watchdogs, and systemd's notify protocol
    keeper       what the player does for whoever looks after a long show: state and health files
"""

from .live_player import LivePlayer
from .player import Player, PlayOptions
from .playlist import Entry, Playlist, PlaylistError, load_playlist
from .presenter import Presenter, ViewKeys
from .run import LIVE_KEYS, PLAY_KEYS, live, play
from .settings import LiveSettings, PlaySettings, ShowSettings

__all__ = ["Entry", "LIVE_KEYS", "LiveSettings", "LivePlayer", "PLAY_KEYS", "PlaySettings", "Player", "PlayOptions",
           "Playlist", "PlaylistError", "Presenter", "ShowSettings", "ViewKeys", "live", "load_playlist", "play"]
