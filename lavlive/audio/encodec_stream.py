"""Streaming EnCodec embeddings: the continuous encoder output (before quantisation), D = 128.

`load_encoder(name)` gives a streaming operator (see `lavlive.audio`) whose frames equal
whole-file encoding (`encode_file`) for any block sizes:

- `24khz`, `32khz`: the SEANet stack runs layer by layer on blocks. Every convolution keeps the
  few input samples its next windows need and pads exactly as the whole-file encoder does (reflect
  or zeros at the start, and at `flush()` the end padding, including the last partial hop); the
  LSTM carries its state. Nothing is recomputed, and memory does not grow with the track.
- `48khz`: the encoder normalises and encodes whole 1 s segments (its group norm sees the entire
  segment), so frames come one segment at a time.

Timing: frame k covers samples [k·hop, (k+1)·hop) and has presentation time k / frame_rate. It is
final once (k+1)·hop + lookahead·sample_rate samples have been pushed (or at flush), and push()
returns it then. One exception, at the very start: reflect padding mirrors the first samples, so
the 24 kHz model's frames 0-6 depend on the first 7 hops and come together once 2240 samples
(93 ms) are in. Lookaheads: 24 kHz 0; 32 kHz 2386 samples (74.6 ms, under 4 frames); 48 kHz one
segment (1 s, a bound).

Between two blocks, `state()` is an operator's whole streaming state as plain data (each layer's
history, the LSTM's (h, c), what waits for a frame) and `load_state()` puts it into an operator
built the same way, which then goes on to the bit as the first would have (lavlive/snapshot.py).
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import LavliveError
from ..snapshot import array_of, fits, reading, same_settings, scalar_of
from .encodec_models import SeanetSpec, encoder_key, resolve_seanet

__all__ = ["EmbeddingStream", "StreamingEncoder", "SegmentedEncoder", "load_encoder", "stream_for", "encode_file"]


class EmbeddingStream(Protocol):
    name: str
    sample_rate: int
    channels: int
    frame_rate: float
    dim: int
    lookahead: float

    def push(self, block: np.ndarray | Tensor) -> Tensor: ...
    def flush(self) -> Tensor: ...
    def reset(self) -> None: ...
    def state(self) -> dict: ...
    def load_state(self, state: dict) -> None: ...


# --- streaming layers: each maps input columns [C, n] to the output columns now final (None: none) ---
# Each also gives its streaming state as plain data (`state`) and takes it back (`load_state`), so a
# render can stop between two blocks and go on elsewhere (see lavlive/snapshot.py).

def _array(x: Tensor | None) -> np.ndarray | None:
    """A tensor as snapshot data: on the CPU, its dtype kept, a copy (never a view of a larger one)."""
    return None if x is None else x.detach().cpu().numpy().copy()


def _tensor(value: object, what: str, shape: tuple[int | None, ...], device: torch.device) -> Tensor | None:
    """Snapshot data back as a float32 tensor on `device` (None stays None)."""
    return None if value is None else torch.from_numpy(array_of(value, what, shape, np.float32)).to(device)


def _int(state: dict, key: str, where: str) -> int:
    return int(scalar_of(state[key], f"{where} {key}", (int, np.integer)))


def _cat(a: Tensor | None, b: Tensor | None) -> Tensor | None:
    if a is None or a.shape[1] == 0:
        return b
    return a if b is None or b.shape[1] == 0 else torch.cat([a, b], dim=1)


class _Node:
    out_channels: int

    def push(self, x: Tensor) -> Tensor | None:
        return x

    def flush(self) -> Tensor | None:
        """End of input: the outputs that waited for end padding."""
        return None

    def reset(self) -> None:
        pass

    def needs(self, q: int) -> int:
        """The last input index that output index q depends on (steady state)."""
        return q

    def state(self) -> dict:
        return {}

    def load_state(self, state: dict, where: str, device: torch.device) -> None:
        fits(isinstance(state, dict), f"{where} holds no layer state")


class _Conv(_Node):
    """SConv1d in blocks: whole-file padding (`encodec.modules.conv.pad1d`) rebuilt from a short history."""

    def __init__(self, weight: Tensor, bias: Tensor | None, stride: int, dilation: int, causal: bool, pad_mode: str):
        if pad_mode not in ("reflect", "constant", "zero"):
            raise ValueError(f"pad mode {pad_mode} is not supported for streaming")
        self.weight, self.bias, self.stride, self.dilation = weight, bias, stride, dilation
        self.out_channels = weight.shape[0]
        self.span = (weight.shape[-1] - 1) * dilation + 1
        total = self.span - stride
        self.right = 0 if causal else total // 2
        self.left = total - self.right
        self.reflect = pad_mode == "reflect"
        self.reset()

    def reset(self) -> None:
        self.hist: Tensor | None = None  # input samples [start, seen)
        self.start = 0
        self.seen = 0
        self.done = 0  # outputs emitted

    def needs(self, q: int) -> int:
        return q * self.stride - self.left + self.span - 1

    def state(self) -> dict:
        return {"hist": _array(self.hist), "start": self.start, "seen": self.seen, "done": self.done}

    def load_state(self, state: dict, where: str, device: torch.device) -> None:
        hist = _tensor(state["hist"], f"{where} history", (self.weight.shape[1], None), device)
        start, seen, done = (_int(state, key, where) for key in ("start", "seen", "done"))
        fits(seen == 0 if hist is None else hist.shape[1] == seen - start > 0,
             f"{where} history holds {0 if hist is None else hist.shape[1]} samples, not {seen - start}")
        self.hist, self.start, self.seen, self.done = hist, start, seen, done

    def push(self, x: Tensor) -> Tensor | None:
        self.hist = _cat(self.hist, x)
        self.seen += x.shape[1]
        end = (self.seen - self.span + self.left) // self.stride + 1  # windows inside what we have
        first = self.done * self.stride - self.left
        if self.reflect and first < 0 and -first > self.seen - 1:
            return None  # the start's reflection needs samples not here yet
        return self._emit(end, total=None)

    def flush(self) -> Tensor | None:
        return self._emit(-(-self.seen // self.stride), total=self.seen)

    def _emit(self, end: int, total: int | None) -> Tensor | None:
        if end <= self.done or self.hist is None:
            return None
        lo = self.done * self.stride - self.left
        hi = (end - 1) * self.stride - self.left + self.span
        if lo >= self.start and hi <= self.seen:
            seg = self.hist[:, lo - self.start: hi - self.start]
        else:
            seg = self._padded(lo, hi, total)
        y = F.conv1d(seg.unsqueeze(0), self.weight, self.bias, stride=self.stride, dilation=self.dilation)[0]
        self.done = end
        keep = max(0, min(self.done * self.stride - self.left, self.seen - self.right - self.stride - 1))
        if keep > self.start:
            self.hist = self.hist[:, keep - self.start:]
            self.start = keep
        return y

    def _padded(self, lo: int, hi: int, total: int | None) -> Tensor:
        """Positions [lo, hi) of the padded input as `pad1d` builds them (total: the input length, at the end)."""
        p = torch.arange(lo, hi, device=self.hist.device)
        if total is None:  # before the end only the start can be padded
            src = p.abs() if self.reflect else p
            valid = (src >= 0) & (src < self.seen)
        elif self.reflect:
            extra = (math.ceil(total / self.stride) - 1) * self.stride + self.span - self.left - self.right - total
            length = total + max(0, max(self.left, self.right + extra) - total + 1)  # pad1d's short-input rule
            src = torch.where(p < 0, -p, torch.where(p >= length, 2 * (length - 1) - p, p))
            valid = src < total
        else:
            src, valid = p, (p >= 0) & (p < total)
        src = torch.where(valid, src, torch.full_like(src, self.start))
        if int(src.min()) < self.start:
            raise AssertionError("streaming history too short")
        return self.hist[:, src - self.start] * valid.to(self.hist.dtype)


class _Pointwise(_Node):
    """A stateless per-sample module (the activations)."""

    def __init__(self, module: nn.Module, channels: int):
        self.module, self.out_channels = module, channels

    def push(self, x: Tensor) -> Tensor | None:
        return self.module(x)


class _LSTM(_Node):
    """SLSTM with its (h, c) carried between blocks.

    Written out step by step: torch's CPU LSTM (oneDNN) re-packs its weights on every call, which
    costs ~8 ms per call at 512 units, ten times the arithmetic of one frame.
    """

    def __init__(self, lstm: nn.LSTM, skip: bool):
        if lstm.bidirectional or lstm.proj_size or not lstm.bias:
            raise ValueError("only plain unidirectional LSTMs with biases can stream")
        self.skip, self.out_channels = skip, lstm.hidden_size
        self.layers = [(getattr(lstm, f"weight_ih_l{i}").detach().clone(),
                        getattr(lstm, f"weight_hh_l{i}").detach().T.contiguous(),
                        (getattr(lstm, f"bias_ih_l{i}") + getattr(lstm, f"bias_hh_l{i}")).detach().clone())
                       for i in range(lstm.num_layers)]
        self.reset()

    def reset(self) -> None:
        self.hc: list[tuple[Tensor, Tensor]] | None = None  # (h, c) per layer, once started

    def state(self) -> dict:
        return {"hc": None if self.hc is None else [[_array(h), _array(c)] for h, c in self.hc]}

    def load_state(self, state: dict, where: str, device: torch.device) -> None:
        hc, shape = state["hc"], (1, self.out_channels)
        if hc is None:
            self.hc = None
            return
        fits(isinstance(hc, list) and len(hc) == len(self.layers),
             f"{where} holds the state of {len(hc) if isinstance(hc, list) else 'no'} LSTM layers, "
             f"not {len(self.layers)}")
        self.hc = [(_tensor(h, f"{where} layer {i} h", shape, device),
                    _tensor(c, f"{where} layer {i} c", shape, device)) for i, (h, c) in enumerate(hc)]

    def push(self, x: Tensor) -> Tensor | None:
        if self.hc is None:
            zero = x.new_zeros(1, self.out_channels)
            self.hc = [(zero, zero) for _ in self.layers]
        seq = x.T  # [n, C]
        for i, (w_ih, w_hh_t, bias) in enumerate(self.layers):
            gates_in = torch.addmm(bias, seq, w_ih.T)  # the input side for all steps at once
            h, c = self.hc[i]
            outs = []
            for t in range(seq.shape[0]):
                gates = torch.addmm(gates_in[t: t + 1], h, w_hh_t)
                ig, fg, gg, og = gates.chunk(4, dim=1)
                c = torch.sigmoid(fg) * c + torch.sigmoid(ig) * torch.tanh(gg)
                h = torch.sigmoid(og) * torch.tanh(c)
                outs.append(h)
            self.hc[i] = (h, c)
            seq = torch.cat(outs)
        y = seq.T
        return y + x if self.skip else y


class _Chain(_Node):
    def __init__(self, nodes: list[_Node]):
        self.nodes, self.out_channels = nodes, nodes[-1].out_channels

    def reset(self) -> None:
        for n in self.nodes:
            n.reset()

    def needs(self, q: int) -> int:
        for n in reversed(self.nodes):
            q = n.needs(q)
        return q

    def state(self) -> dict:
        return {"nodes": [n.state() for n in self.nodes]}

    def load_state(self, state: dict, where: str, device: torch.device) -> None:
        nodes = state["nodes"]
        fits(isinstance(nodes, list) and len(nodes) == len(self.nodes),
             f"{where} has {len(nodes) if isinstance(nodes, list) else 'no'} layers, not {len(self.nodes)}")
        for i, (n, s) in enumerate(zip(self.nodes, nodes)):
            n.load_state(s, f"{where}.{i}", device)

    def push(self, x: Tensor) -> Tensor | None:
        for n in self.nodes:
            x = n.push(x)
            if x is None or x.shape[1] == 0:
                return None
        return x

    def flush(self) -> Tensor | None:
        y: Tensor | None = None
        for n in self.nodes:
            y = _cat(n.push(y) if y is not None else None, n.flush())
        return y


class _Identity(_Node):
    def __init__(self, channels: int):
        self.out_channels = channels


class _Residual(_Node):
    """shortcut(x) + block(x), aligning the two paths (the block's convs may wait for right context)."""

    def __init__(self, block: _Node, shortcut: _Node):
        self.block, self.shortcut, self.out_channels = block, shortcut, block.out_channels
        self.reset()

    def reset(self) -> None:
        self.block.reset()
        self.shortcut.reset()
        self.pending_a: Tensor | None = None
        self.pending_b: Tensor | None = None

    def needs(self, q: int) -> int:
        return max(self.block.needs(q), self.shortcut.needs(q))

    def state(self) -> dict:
        return {"block": self.block.state(), "shortcut": self.shortcut.state(),
                "pending_a": _array(self.pending_a), "pending_b": _array(self.pending_b)}

    def load_state(self, state: dict, where: str, device: torch.device) -> None:
        self.block.load_state(state["block"], f"{where}.block", device)
        self.shortcut.load_state(state["shortcut"], f"{where}.shortcut", device)
        shape = (self.out_channels, None)
        self.pending_a = _tensor(state["pending_a"], f"{where} pending shortcut", shape, device)
        self.pending_b = _tensor(state["pending_b"], f"{where} pending block", shape, device)

    def push(self, x: Tensor) -> Tensor | None:
        return self._sum(self.shortcut.push(x), self.block.push(x))

    def flush(self) -> Tensor | None:
        return self._sum(self.shortcut.flush(), self.block.flush())

    def _sum(self, a: Tensor | None, b: Tensor | None) -> Tensor | None:
        a, b = _cat(self.pending_a, a), _cat(self.pending_b, b)
        if a is None or b is None:
            self.pending_a, self.pending_b = a, b
            return None
        n = min(a.shape[1], b.shape[1])
        self.pending_a, self.pending_b = a[:, n:], b[:, n:]
        return a[:, :n] + b[:, :n] if n else None


def _compile(module: nn.Module, channels: int) -> _Node:
    """Mirror an `encodec` SEANet encoder (or one of its parts) as streaming nodes."""
    from encodec.modules import SLSTM, SConv1d
    from encodec.modules.seanet import SEANetResnetBlock

    if isinstance(module, nn.Sequential):
        nodes = []
        for child in module:
            nodes.append(_compile(child, channels))
            channels = nodes[-1].out_channels
        return _Chain(nodes)
    if isinstance(module, SEANetResnetBlock):
        skip = module.shortcut
        shortcut = _Identity(channels) if isinstance(skip, nn.Identity) else _compile(skip, channels)
        return _Residual(_compile(module.block, channels), shortcut)
    if isinstance(module, SConv1d):
        if not isinstance(module.conv.norm, nn.Identity):
            raise ValueError("convolutions with a time norm cannot stream; encode whole segments")
        conv = module.conv.conv
        return _Conv(_effective_weight(conv), None if conv.bias is None else conv.bias.detach().clone(),
                     conv.stride[0], conv.dilation[0], module.causal, module.pad_mode)
    if isinstance(module, SLSTM):
        return _LSTM(module.lstm, module.skip)
    if isinstance(module, (nn.ELU, nn.ReLU, nn.LeakyReLU, nn.GELU, nn.Tanh, nn.Identity)):
        return _Pointwise(module, channels)
    raise ValueError(f"cannot stream a {type(module).__name__}")


def _effective_weight(conv: nn.Conv1d) -> Tensor:
    """The convolution weight with weight norm folded in (computed once, not per block)."""
    if hasattr(conv, "weight_g") and hasattr(conv, "weight_v"):
        v, g = conv.weight_v.detach(), conv.weight_g.detach()
        return (v * (g / v.norm(dim=tuple(range(1, v.dim())), keepdim=True))).clone()
    return conv.weight.detach().clone()  # plain, or a parametrization computed on access


def _on(module: nn.Module, device: torch.device) -> nn.Module:
    """The module in eval mode on `device`, copied if it has to move (the caller's stays where it is)."""
    here = next(module.parameters()).device
    return (module if here == device else copy.deepcopy(module).to(device)).eval()


# --- the operators -------------------------------------------------------------------------------

class _Base:
    """Shared input handling: blocks are [channels, n] float arrays or tensors (mono may be [n])."""

    name: str
    spec: SeanetSpec
    device: torch.device

    def _init_common(self, spec: SeanetSpec, name: str, device: str | torch.device, source: str) -> None:
        self.spec, self.name, self.source = spec, name, source
        self.device = torch.device(device)
        self.sample_rate, self.channels, self.dim = spec.sample_rate, spec.channels, spec.dimension
        self.hop = spec.hop
        self.frame_rate = spec.frame_rate
        self.ended = False

    def _block(self, block: np.ndarray | Tensor) -> Tensor:
        if self.ended:
            raise RuntimeError(f"{self.name} stream was flushed; call reset() before pushing again")
        x = torch.from_numpy(np.asarray(block, dtype=np.float32)) if not isinstance(block, Tensor) else block
        if x.dim() == 1 and self.channels == 1:
            x = x.unsqueeze(0)
        if x.dim() != 2 or x.shape[0] != self.channels:
            raise LavliveError(f"EnCodec {self.name} takes audio blocks shaped [{self.channels}, n], got "
                               f"{list(x.shape)}")
        return x.to(self.device, torch.float32, copy=True)  # callers may reuse their buffers

    def _frames(self, y: Tensor | None) -> Tensor:
        return self._no_frames() if y is None else y.T.contiguous()

    def _no_frames(self) -> Tensor:
        return torch.zeros(0, self.dim, device=self.device)

    def _kind(self) -> dict:
        return {"encoder": self.name, "sample_rate": self.sample_rate, "channels": self.channels, "hop": self.hop}

    def _check_kind(self, state: dict) -> None:
        same_settings(state["kind"], self._kind(), "an EnCodec encoder")


class StreamingEncoder(_Base):
    """24/32 kHz EnCodec embeddings, block by block, equal to whole-file encoding.

    Input is held back only until the next sample count at which a frame can become final, so
    tiny blocks cost little and add no latency in steady state.
    """

    def __init__(self, seanet: nn.Module, spec: SeanetSpec, name: str, device: str | torch.device = "cpu",
                 source: str = "given module"):
        self._init_common(spec, name, device, source)
        seanet = _on(seanet, self.device)
        with torch.no_grad():
            self.graph = _compile(seanet.model, spec.channels)
        j = 1000
        self.lookahead_samples = self.graph.needs(j) - ((j + 1) * self.hop - 1)
        self.lookahead = self.lookahead_samples / self.sample_rate
        self.reset()

    def reset(self) -> None:
        self.graph.reset()
        self.pending: list[Tensor] = []
        self.pending_n = 0
        self.total = 0  # samples pushed
        self.next_run = self.hop + self.lookahead_samples
        self.ended = False

    @torch.no_grad()
    def push(self, block: np.ndarray | Tensor) -> Tensor:
        """Take the next samples; return the frames [n, 128] that are now final."""
        x = self._block(block)
        if x.shape[1] == 0:
            return self._no_frames()
        self.pending.append(x)
        self.pending_n += x.shape[1]
        self.total += x.shape[1]
        if self.total < self.next_run:
            return self._no_frames()
        self.next_run += (self.total - self.next_run) // self.hop * self.hop + self.hop
        return self._frames(self.graph.push(self._take()))

    @torch.no_grad()
    def flush(self) -> Tensor:
        """End the stream: the remaining frames, the last partial hop padded as the whole-file encoder pads it."""
        head = self.graph.push(self._take()) if self.pending_n else None
        self.ended = True
        return self._frames(_cat(head, self.graph.flush()))

    def state(self) -> dict:
        """The streaming state between two blocks, as plain data (see lavlive/snapshot.py)."""
        return {"kind": self._kind(), "graph": self.graph.state(), "pending": [_array(x) for x in self.pending],
                "pending_n": self.pending_n, "total": self.total, "next_run": self.next_run, "ended": self.ended}

    def load_state(self, state: dict) -> None:
        """Go on from `state` (of an encoder like this one, its weights aside)."""
        with reading(f"EnCodec {self.name}"):
            self._check_kind(state)
            pending = [_tensor(x, f"EnCodec {self.name} pending input", (self.channels, None), self.device)
                       for x in state["pending"]]
            counts = {key: _int(state, key, f"EnCodec {self.name}") for key in ("pending_n", "total", "next_run")}
            fits(counts["pending_n"] == sum(x.shape[1] for x in pending),
                 f"EnCodec {self.name} pending input does not add up to its count")
            ended = bool(scalar_of(state["ended"], f"EnCodec {self.name} ended", (bool, np.bool_)))
            self.graph.load_state(state["graph"], f"EnCodec {self.name} graph", self.device)
        self.pending, self.ended = pending, ended
        self.pending_n, self.total, self.next_run = counts["pending_n"], counts["total"], counts["next_run"]

    def _take(self) -> Tensor:
        x = self.pending[0] if len(self.pending) == 1 else torch.cat(self.pending, dim=1)
        self.pending, self.pending_n = [], 0
        return x


class SegmentedEncoder(_Base):
    """48 kHz EnCodec embeddings: each whole segment is RMS-normalised and encoded on its own.

    Segments follow one another without overlap (the package overlaps them by 1 % only to
    cross-fade decoded audio; an overlap of 1.5 hops would break the 150 Hz frame grid).
    """

    def __init__(self, seanet: nn.Module, spec: SeanetSpec, name: str, device: str | torch.device = "cpu",
                 source: str = "given module"):
        self._init_common(spec, name, device, source)
        assert spec.segment is not None
        self.seanet = _on(seanet, self.device)
        self.segment_length = int(spec.segment * spec.sample_rate)
        self.lookahead = spec.segment
        self.buffer = torch.zeros(self.channels, self.segment_length, device=self.device)
        self.reset()

    def reset(self) -> None:
        self.filled = 0
        self.ended = False

    @torch.no_grad()
    def push(self, block: np.ndarray | Tensor) -> Tensor:
        """Take the next samples; return the frames of each segment this block completes."""
        x = self._block(block)
        out = []
        while x.shape[1]:
            n = min(x.shape[1], self.segment_length - self.filled)
            self.buffer[:, self.filled: self.filled + n] = x[:, :n]
            self.filled += n
            x = x[:, n:]
            if self.filled == self.segment_length:
                out.append(self._encode(self.buffer))
                self.filled = 0
        return torch.cat(out) if out else self._no_frames()

    @torch.no_grad()
    def flush(self) -> Tensor:
        """End the stream: the frames of the last, partial segment (normalised by its own RMS)."""
        y = self._encode(self.buffer[:, : self.filled]) if self.filled else self._no_frames()
        self.filled = 0
        self.ended = True
        return y

    def state(self) -> dict:
        """The streaming state between two blocks (the current segment so far), as plain data."""
        return {"kind": self._kind(), "segment": _array(self.buffer[:, :self.filled]), "ended": self.ended}

    def load_state(self, state: dict) -> None:
        """Go on from `state` (of an encoder like this one, its weights aside)."""
        with reading(f"EnCodec {self.name}"):
            self._check_kind(state)
            seg = _tensor(state["segment"], f"EnCodec {self.name} segment", (self.channels, None), self.device)
            fits(seg is not None and seg.shape[1] < self.segment_length,
                 f"EnCodec {self.name} segment is not a part of one {self.segment_length}-sample segment")
            ended = bool(scalar_of(state["ended"], f"EnCodec {self.name} ended", (bool, np.bool_)))
        self.buffer.zero_()
        self.buffer[:, :seg.shape[1]] = seg
        self.filled, self.ended = seg.shape[1], ended

    def _encode(self, x: Tensor) -> Tensor:
        return encode_segment(self.seanet, self.spec, x)


def encode_segment(seanet: nn.Module, spec: SeanetSpec, x: Tensor) -> Tensor:
    """One segment [channels, n] -> frames [ceil(n / hop), 128], normalised as `EncodecModel._encode_frame` does."""
    if spec.normalize:
        volume = x.mean(dim=0).pow(2).mean().sqrt()
        x = x / (1e-8 + volume)
    return seanet(x.unsqueeze(0))[0].T.contiguous()


@torch.no_grad()
def encode_file(seanet: nn.Module, spec: SeanetSpec, audio: Tensor) -> Tensor:
    """Whole-file reference encoding [channels, n] -> [frames, 128] (what the streaming operators reproduce)."""
    if spec.segment is None:
        return encode_segment(seanet, spec, audio)
    step = int(spec.segment * spec.sample_rate)
    return torch.cat([encode_segment(seanet, spec, audio[:, i: i + step]) for i in range(0, audio.shape[1], step)])


def stream_for(seanet: nn.Module, spec: SeanetSpec, name: str, device: str | torch.device = "cpu",
               source: str = "given module") -> StreamingEncoder | SegmentedEncoder:
    """The streaming operator for an encoder module: layer-wise when it can stream, segment-wise when not."""
    cls = SegmentedEncoder if spec.segment is not None else StreamingEncoder
    return cls(seanet, spec, name, device, source)


def load_encoder(name: str, weights: str | Path | None = None, download: bool = False,
                 device: str | torch.device = "cpu", seed: int = 0) -> tuple[EmbeddingStream, str | None]:
    """Encoder `name` ('24khz', '32khz', '48khz') with the best weights available, and a notice when random.

    Weights: `weights` (a .th/.pt/.bin/.safetensors file, or a Hugging Face folder); else the
    package's torch hub cache ($TORCH_HOME/hub/checkpoints, checksum-verified) or the Hugging Face
    cache; else, only with download=True, the published weights; else random ones from `seed`.
    """
    seanet, spec, source, notice = resolve_seanet(name, weights, download, seed)
    return stream_for(seanet, spec, encoder_key(name), device, source), notice
