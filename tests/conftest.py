import os
import signal
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
# The shared reference data: $LAVLIVE_FIXTURES, else ../shared/fixtures beside the clone, else ./shared/fixtures.
FIXTURES = next((p for p in (Path(os.environ.get("LAVLIVE_FIXTURES", "/nonexistent")), REPO.parent / "shared" / "fixtures",
                             REPO / "shared" / "fixtures") if p.is_dir()), REPO.parent / "shared" / "fixtures")
sys.path.insert(0, str(Path(__file__).parent))

torch.set_num_threads(2)

# A shell starts a background job (`pytest ... &`) with SIGINT ignored, and children inherit that; lavlive keeps a
# signal its caller ignored ignored (nohup), so every Ctrl-C test would fail and leave its player running. The
# tests stand in for a user at a terminal: children start with SIGINT at its default.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory):
    """Keep W-statistics caches, and a kiosk's state file and log, out of the user's home; shared by the
    subprocesses tests start."""
    os.environ["LAVLIVE_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    os.environ["XDG_STATE_HOME"] = str(tmp_path_factory.mktemp("state"))


@pytest.fixture(scope="session")
def sg2_fixture() -> Path:
    path = FIXTURES / "stylegan2" / "nvidia-sg2-64.pkl"
    if not path.exists():
        pytest.fail(f"missing reference fixture {path} (set LAVLIVE_FIXTURES to the shared fixtures folder)")
    return path


@pytest.fixture(scope="session")
def sg2_expected(sg2_fixture):
    import numpy as np

    return dict(np.load(sg2_fixture.with_name("nvidia-sg2-64.expected.npz")))


@pytest.fixture(scope="session")
def sg3_fixture() -> Path:
    path = FIXTURES / "stylegan3" / "nvidia-sg3t-64.pkl"
    if not path.exists():
        pytest.fail(f"missing reference fixture {path} (set LAVLIVE_FIXTURES to the shared fixtures folder)")
    return path


@pytest.fixture(scope="session")
def sg3_expected(sg3_fixture):
    import numpy as np

    return dict(np.load(sg3_fixture.with_name("nvidia-sg3t-64.expected.npz")))


@pytest.fixture(scope="session")
def small_generator():
    """A small random generator (32×32) with non-trivial biases, noise strengths and w_avg."""
    from lavlive.generator import Generator, GeneratorConfig

    torch.manual_seed(3)
    G = Generator(GeneratorConfig(z_dim=64, w_dim=64, img_resolution=32, channel_base=512, channel_max=32,
                                  mapping_layers=4))
    with torch.no_grad():
        for name, p in G.named_parameters():
            if not name.endswith("weight"):
                p.add_(0.1 * torch.randn_like(p))
        G.mapping.w_avg.normal_()
    return G.eval().requires_grad_(False)


@pytest.fixture(scope="session")
def tiny_generator():
    """A very small random generator for control-path tests (w_dim 64, 32×32, 8 ws)."""
    from lavlive.generator import Generator, GeneratorConfig

    torch.manual_seed(0)
    return Generator(GeneratorConfig(z_dim=64, w_dim=64, img_resolution=32, channel_base=256, channel_max=16,
                                     mapping_layers=2)).eval()


@pytest.fixture(scope="session")
def tiny_stats(tiny_generator):
    from lavlive.control.statistics import sample_statistics

    return sample_statistics(tiny_generator, samples=1000)


@pytest.fixture(scope="session")
def xvfb() -> str:
    """An X server for real windows: Xvfb :99 with Mesa, started if none is running; sets DISPLAY."""
    from services import start_xvfb

    display = start_xvfb()
    if display is None:
        pytest.fail("no X server: install Xvfb (bash scripts/setup.sh --test)")
    return display


@pytest.fixture
def pulse() -> None:
    """A PulseAudio server with the null sink `auto_null` (started, or restarted if a test killed it)."""
    from services import start_pulse

    if not start_pulse():
        pytest.fail("no PulseAudio server: install pulseaudio (bash scripts/setup.sh --test)")


@pytest.fixture
def chromium(tmp_path):
    """A headless Chromium (Debian's, driven by Selenium), closed after the test."""
    from browser import missing, start_chromium, stop_chromium

    reason = missing()
    if reason is not None:
        pytest.fail(reason)
    profile = tmp_path / "chromium-profile"
    driver = start_chromium(profile)
    yield driver
    stop_chromium(driver, profile)
