"""Where a show goes out: the sound card (audio/), and the screen and NDI (display/)."""
