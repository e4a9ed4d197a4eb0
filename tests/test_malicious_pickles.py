"""Checkpoints cannot run code: dangerous globals are refused by name and no side effect happens."""

import collections
import io
import pickle
import struct

import numpy as np
import pytest
import torch
from checkpoint_writers import SIDE_EFFECT_SRC, write_ada_pickle, write_sg3_pickle

from lavlive import load_generator
from lavlive.generator import CheckpointError


def call_global(module: str, name: str, arg: str) -> bytes:
    """A protocol-0 pickle that calls module.name(arg) when loaded by an ordinary unpickler."""
    return f"c{module}\n{name}\n(V{arg}\ntR.".encode()


def touch(marker) -> str:
    return f"open({str(marker)!r}, 'w').write('x')"


CASES = {
    "os.system": lambda m: call_global("os", "system", f"touch {m}"),
    "posix.system": lambda m: call_global("posix", "system", f"touch {m}"),
    "builtins.eval": lambda m: call_global("builtins", "eval", touch(m)),
    "builtins.exec": lambda m: call_global("builtins", "exec", touch(m)),
    "builtins.__import__": lambda m: call_global("builtins", "__import__", "antigravity"),
    "subprocess.Popen": lambda m: f"csubprocess\nPopen\n((Vtouch\nV{m}\nltR.".encode(),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_dangerous_global_is_refused_by_name(tmp_path, name):
    marker = tmp_path / "pwned"
    evil = CASES[name](marker)
    if name in ("os.system", "builtins.exec"):  # prove the payload is live with an ordinary unpickler
        probe = tmp_path / "probe"
        pickle.loads(CASES[name](probe))
        assert probe.exists()
    path = tmp_path / "evil.pkl"
    path.write_bytes(b"\x80\x02" + evil)  # protocol header so it is read as a pickle
    with pytest.raises(CheckpointError, match=f"refused global '{name}'"):
        load_generator(path)
    assert not marker.exists()


def storage_from_bytes(blob: bytes) -> bytes:
    """Outer pickle as network pickles store tensors: torch.storage._load_from_bytes(<blob>)."""
    return b"\x80\x04ctorch.storage\n_load_from_bytes\n(B" + struct.pack("<I", len(blob)) + blob + b"tR."


def test_nested_unsafe_pickle_inside_a_tensor_storage_is_refused(tmp_path):
    probe, marker = tmp_path / "probe", tmp_path / "pwned"
    with pytest.raises(RuntimeError, match="magic number"):  # torch's own loader runs the payload
        pickle.loads(storage_from_bytes(call_global("os", "system", f"touch {probe}")))
    assert probe.exists()
    path = tmp_path / "evil.pkl"
    path.write_bytes(storage_from_bytes(call_global("os", "system", f"touch {marker}")))
    with pytest.raises(CheckpointError, match="refuses to load"):
        load_generator(path)
    assert not marker.exists()


def test_embedded_module_source_is_never_executed(small_generator, tmp_path):
    marker = tmp_path / "pwned"
    src = SIDE_EFFECT_SRC.format(marker=str(marker))
    exec(compile(src, "probe", "exec"), {})  # the payload works when executed...
    assert marker.exists()
    marker.unlink()
    path = tmp_path / "net.pkl"
    write_ada_pickle(small_generator, path, module_src=src)
    G = load_generator(path)  # ...but loading the network never executes it
    assert not marker.exists()
    assert G.img_resolution == small_generator.img_resolution


def test_a_stylegan3_network_pickle_never_runs_its_module_source(tmp_path):
    """A real StyleGAN3 file carries its classes' source too (stylegan3's networks_stylegan3.py): kept as text."""
    from lavlive.generator import StyleGAN3Config, StyleGAN3Generator

    marker = tmp_path / "pwned"
    src = "class SynthesisInput(torch.nn.Module):\n    pass\n" + SIDE_EFFECT_SRC.format(marker=str(marker))
    G3 = StyleGAN3Generator(StyleGAN3Config(z_dim=32, w_dim=32, img_resolution=16, channel_base=512, channel_max=16,
                                            num_fp16_res=0, conv_clamp=None)).eval()
    path = tmp_path / "sg3.pkl"
    write_sg3_pickle(G3, path, module_src=src)
    G = load_generator(path)
    assert not marker.exists()
    assert type(G).__name__ == "StyleGAN3Generator" and G.num_ws == 16


@pytest.mark.parametrize("name", ["posix.system", "builtins.eval"])
def test_a_stylegan3_shaped_pickle_with_a_dangerous_global_is_refused(tmp_path, name):
    """The payload sits where a StyleGAN3 layer's attribute would be (its padding list)."""
    from lavlive.generator import StyleGAN3Config, StyleGAN3Generator

    marker = tmp_path / "pwned"
    G3 = StyleGAN3Generator(StyleGAN3Config(z_dim=32, w_dim=32, img_resolution=16, channel_base=512, channel_max=16,
                                            num_fp16_res=0, conv_clamp=None)).eval()

    class Payload:
        def __reduce__(self):
            module, func = name.split(".")
            return (getattr(__import__(module), func), (f"touch {marker}" if func == "system" else touch(marker),))

    import checkpoint_writers as writers

    path = tmp_path / "sg3.pkl"
    with writers.fake_modules(**{"torch_utils.persistence": {"_reconstruct_persistent_obj":
                                                              writers._reconstruct_persistent_obj},
                                 "dnnlib.util": {"EasyDict": writers.EasyDict}}):
        g = writers._sg3_persistent(G3, "# networks\n")
        layer = g.meta["state"]["_modules"]["synthesis"].meta["state"]["_modules"]["L0_36_16"].meta["state"]
        layer["padding"] = Payload()
        path.write_bytes(pickle.dumps({"G_ema": g}, protocol=4))
    with pytest.raises(CheckpointError, match=f"refused global '{name}'"):
        load_generator(path)
    assert not marker.exists()


def test_rosinality_file_with_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (eval, (touch(marker),))

    path = tmp_path / "evil.pt"
    torch.save({"g_ema": {}, "payload": Evil()}, path)
    with pytest.raises(CheckpointError, match="tries to load code"):
        load_generator(path)
    assert not marker.exists()


@pytest.mark.parametrize("payload", [
    np.array([io.StringIO], dtype=object),  # object arrays unpickle arbitrary objects
    b"\x80\x02cnumpy\nndarray\n(K\x05tR.",  # numpy.ndarray called directly
    b"\x80\x02cnumpy\ndtype\n(VO\ntR.",  # an object dtype
])
def test_numpy_objects_beyond_plain_arrays_are_refused(tmp_path, payload):
    path = tmp_path / "np.pkl"
    path.write_bytes(payload if isinstance(payload, bytes) else pickle.dumps(payload, protocol=2))
    with pytest.raises(CheckpointError, match="tries to load code|corrupt"):
        load_generator(path)


@pytest.mark.parametrize("size, stride", [((1 << 40,), (0,)), ((4, 4), (1, 1)), ((64,), (1,))])
def test_tensor_views_past_or_overlapping_their_storage_are_refused(tmp_path, size, stride):
    """A tiny file must not be able to make a huge or aliased tensor."""
    class View:
        def __reduce__(self):
            storage = torch.storage.TypedStorage(16, dtype=torch.float32, _internal=True)
            return (torch._utils._rebuild_tensor_v2, (storage, 0, size, stride, False, collections.OrderedDict()))

    path = tmp_path / "view.pkl"
    path.write_bytes(pickle.dumps(View(), protocol=2))
    with pytest.raises(CheckpointError, match="overlaps itself or reaches past"):
        load_generator(path)
