"""The live player: playlists, audio output with its clock, the window, and the show that ties them."""
