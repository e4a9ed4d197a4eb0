#!/usr/bin/env bash
# Quick start, step 1: install, then render the built-in demo track (drums + chords) to demo.mp4
# with the embedded default generator. Fully offline; about a minute on two CPU cores.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/lavlive demo-track -o demo.wav --seconds 8 --force
.venv/bin/lavlive render demo.wav -o demo.mp4 --preset pulse --force
