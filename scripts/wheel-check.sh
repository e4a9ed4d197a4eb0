#!/usr/bin/env bash
# Install lavlive as a user does and use it: build the wheel and the sdist, check that they carry every
# file of the package, the presets and the shaders, install the wheel (not editable) into a fresh venv
# outside the checkout, then render, analyze, play (with its control page and a recording) and replay a demo
# track from an empty folder.
# Needs scripts/setup.sh --test first (Xvfb, PulseAudio, python -m build in .venv). CI runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
work=$(mktemp -d /tmp/lavlive-wheel.XXXXXX)
trap 'rm -rf "$work"' EXIT
step() { echo "wheel-check: $*"; }

step "building the wheel and the sdist"
.venv/bin/python -m build --outdir "$work/dist" >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
wheel=$(ls "$work"/dist/lavlive-*.whl)
sdist=$(ls "$work"/dist/lavlive-*.tar.gz)

step "checking what they carry against the checkout"
.venv/bin/python - "$wheel" "$sdist" <<'PY'
import subprocess, sys, tarfile, zipfile
wheel, sdist = sys.argv[1:]
tracked = subprocess.run(["git", "ls-files", "lavlive", "presets", "shaders"], capture_output=True, text=True,
                         check=True).stdout.split()
in_wheel = set(zipfile.ZipFile(wheel).namelist())
expected = {p if p.startswith("lavlive/") else f"lavlive/data/{p}" for p in tracked}
with tarfile.open(sdist) as t:
    in_sdist = {name.split("/", 1)[1] for name in t.getnames() if "/" in name}
missing = sorted(expected - in_wheel) + [f"(sdist) {p}" for p in sorted(set(tracked) - in_sdist)]
if missing:
    sys.exit("wheel-check: missing from the packages: " + ", ".join(missing))
print(f"wheel-check: the wheel holds all {len(expected)} files of lavlive/, presets/ and shaders/; the sdist too")
PY

step "installing the wheel into a fresh venv (this installs torch from the package index: about a minute)"
python=$(command -v python3.11 || command -v python3)
"$python" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q --disable-pip-version-check "$wheel" >"$work/pip.log" 2>&1 \
  || { tail -20 "$work/pip.log"; exit 1; }

# A user's machine: an empty folder, no checkout on the path, a cache of its own, the test services.
mkdir "$work/user"
cd "$work/user"
export LAVLIVE_CACHE="$work/cache" PYTHONUNBUFFERED=1
display=$("$repo/.venv/bin/python" "$repo/tests/services.py")
export DISPLAY="$display" SDL_VIDEODRIVER=x11
lavlive="$work/venv/bin/lavlive"
where=$("$work/venv/bin/python" -c 'import lavlive; print(lavlive.__file__)')
case "$where" in "$repo"*) echo "wheel-check: lavlive was imported from the checkout ($where)"; exit 1;; esac

step "lavlive presets"
"$lavlive" presets | tee presets.txt
grep -q '^pulse ' presets.txt

step "lavlive demo-track + render --preset pulse"
"$lavlive" demo-track -o demo.wav --seconds 3
"$lavlive" render demo.wav -o demo.mp4 --preset pulse
"$work/venv/bin/python" - <<'PY'
import json, av
with av.open("demo.mp4") as c:
    frames = sum(1 for _ in c.decode(video=0))
meta = json.load(open("demo.mp4.json"))
assert frames == 90 and meta["preset"]["name"] == "pulse", (frames, meta["preset"]["name"])
print(f"wheel-check: demo.mp4 has {frames} frames, preset {meta['preset']['name']}")
PY

step "lavlive analyze"
"$lavlive" analyze demo.wav -o analysis.png
test -s analysis.png

step "lavlive play --web --record (Xvfb $DISPLAY, PulseAudio): the control page is served from the wheel"
timeout 120 "$lavlive" play demo.wav --frame-log frames.csv --size 320x240 --web 127.0.0.1:0 --record show.mp4 \
  > play.txt 2>&1 &
player=$!
"$work/venv/bin/python" - <<'PY'
import time, urllib.request
for _ in range(600):
    address = [x.split(" at ")[-1] for x in open("play.txt").read().splitlines() if "control page at" in x]
    if address:
        break
    time.sleep(0.1)
else:
    raise SystemExit("wheel-check: play never served its control page:\n" + open("play.txt").read())
for path in ("", "static/app.js", "static/style.css"):
    with urllib.request.urlopen(address[0] + path, timeout=10) as r:
        assert r.status == 200 and r.read(), path
print(f"wheel-check: the control page and its files came from {address[0]}")
PY
wait "$player" || { cat play.txt; exit 1; }
shown=$(($(wc -l < frames.csv) - 1))
[ "$shown" -ge 3 ] || { echo "wheel-check: play showed only $shown frames"; exit 1; }
echo "wheel-check: play showed $shown frames of the 3 s track and ended by itself"

step "lavlive render --replay: the recorded show drawn again from its sidecar"
timeout 300 "$lavlive" render --replay show.mp4.json -o replay.mp4
"$work/venv/bin/python" - "$shown" <<'PY'
import json, sys, av
recorded = json.load(open("show.mp4.json"))["recorded"]
with av.open("show.mp4") as c:
    kept = sum(1 for _ in c.decode(video=0))
with av.open("replay.mp4") as c:
    replayed = sum(1 for _ in c.decode(video=0))
shown = int(sys.argv[1])
assert kept == recorded["frames"] == shown and recorded["complete"], (kept, recorded, shown)
assert replayed == round(recorded["seconds"] * 30) == 90, (replayed, recorded)  # the whole 3 s heard
print(f"wheel-check: the recording holds the {kept} frames shown; the replay {replayed} frames at full rate")
PY

step "pip install 'lavlive[cluster]' + render --segments 2 --cluster local (Ray)"
"$work/venv/bin/python" -m pip install -q --disable-pip-version-check "$wheel[cluster]" >"$work/pip-cluster.log" 2>&1 \
  || { tail -20 "$work/pip-cluster.log"; exit 1; }
timeout 300 "$lavlive" render demo.wav -o segmented.mp4 --segments 2 --cluster local
"$work/venv/bin/python" - <<'PY'
import json, av
with av.open("segmented.mp4") as c:
    frames = sum(1 for _ in c.decode(video=0))
meta = json.load(open("segmented.mp4.json"))
assert frames == 90 and meta["segments"]["count"] == 2, (frames, meta.get("segments"))
print(f"wheel-check: segmented.mp4 has {frames} frames from {meta['segments']['count']} segments rendered on Ray")
PY

step "passed: the installed wheel renders, analyzes, plays, and renders in segments on Ray"
