#!/usr/bin/env bash
# Quick start, step 1: install, then run the main job on the embedded default generator.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/lavlive synth -o contact-sheet.png --force
