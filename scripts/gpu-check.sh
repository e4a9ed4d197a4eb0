#!/usr/bin/env bash
# Exercise the CUDA path and print the benchmark figures; every step is bounded, 7 min 50 s in all.
# Uses .venv if present, else the machine's python3 (which must have torch with CUDA).
# The reference fixtures are read from $LAVLIVE_FIXTURES, ../shared/fixtures or ./shared/fixtures.
set -euo pipefail
cd "$(dirname "$0")/.."
py=python3; [ -x .venv/bin/python ] && py=.venv/bin/python
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
[ -z "${LAVLIVE_FIXTURES:-}" ] && [ -d shared/fixtures ] && export LAVLIVE_FIXTURES="$PWD/shared/fixtures"
"$py" -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print('gpu:', torch.cuda.get_device_name(), 'torch', torch.__version__)"
timeout 130 "$py" -m pytest -q -p no:cacheprovider tests/test_cuda.py tests/test_parity.py tests/test_stylegan3.py tests/test_runtime.py
# synthesis at 256/512/1024: fp32, fp16 eager and fp16 replayed from a CUDA graph (batch 1), bf16
timeout 80 "$py" benchmarks/synthesis.py --device cuda --batches 1 8 --min-seconds 1.5
# StyleGAN3 configs T and R at 256/512/1024: fp32, fp16 eager and fp16 replayed from a CUDA graph (batch 1), bf16;
# T also at a 16:9 canvas (what a wider picture costs)
timeout 60 "$py" benchmarks/synthesis.py --device cuda --family stylegan3-t --batches 1 --min-seconds 0.6 --canvas 16:9
timeout 40 "$py" benchmarks/synthesis.py --device cuda --family stylegan3-r --batches 1 --min-seconds 0.8
timeout 60 "$py" benchmarks/render.py --device cuda --seconds 20 --rounds 2 --skip-memory
if command -v Xvfb >/dev/null && command -v pulseaudio >/dev/null; then
  timeout 60 "$py" benchmarks/play.py --device cuda --resolutions 256 1024 --seconds 15 --fps 60 --size 1024x1024
  timeout 40 "$py" benchmarks/live_latency.py --end-to-end --device cuda --resolution 1024 --fps 30 --block-ms 20 --seconds 20
else
  echo "play and live benchmarks skipped: Xvfb or PulseAudio is not installed here (bash scripts/setup.sh --test)"
fi
