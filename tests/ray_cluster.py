"""A real Ray cluster on 127.0.0.1 for tests and benchmarks: a head and worker nodes, each its own
`ray start` process tree, as on real machines (one node per machine there)."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

RAY = Path(sys.executable).with_name("ray")

# Token authentication, as a cluster on a network should have: the nodes and every driver of this
# process (in-process or a subprocess) read the token from the same file. Set before Ray is
# imported, as Ray reads its configuration once per process.
_TOKEN = Path(tempfile.mkdtemp(prefix="lavlive-ray-")) / "auth_token"
_TOKEN.write_text(secrets.token_hex(32))
os.environ.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(_TOKEN), RAY_USAGE_STATS_ENABLED="0")


def ray_available() -> bool:
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return RAY.exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ray(*args: str, env: dict[str, str]) -> None:
    done = subprocess.run([str(RAY), *args], env=env, capture_output=True, text=True, timeout=120)
    if done.returncode:
        raise RuntimeError(f"ray {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")


def stop_all() -> None:
    """`ray stop` ends every Ray process of this machine's user: only one test cluster runs at a time."""
    subprocess.run([str(RAY), "stop", "--force"], capture_output=True, timeout=120)


@contextmanager
def ray_cluster(nodes: int = 2, cpus_per_node: int = 1) -> Iterator[str]:
    """Yields the head's address (127.0.0.1:PORT) of a cluster of `nodes` nodes; stops it after."""
    stop_all()
    env = dict(os.environ)
    port = _free_port()
    address = f"127.0.0.1:{port}"
    common = ["--num-cpus", str(cpus_per_node), "--num-gpus", "0", "--disable-usage-stats"]
    try:
        _ray("start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port), "--include-dashboard=false",
             *common, env=env)
        for _ in range(nodes - 1):
            _ray("start", "--address", address, "--node-ip-address", "127.0.0.1", *common, env=env)
        yield address
    finally:
        stop_all()


def task_processes(name: str = "_render_task") -> list[int]:
    """PIDs of Ray workers running task `name` now (Ray titles a busy worker 'ray::NAME')."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if cmdline.startswith(f"ray::{name}"):
            pids.append(int(entry.name))
    return pids
