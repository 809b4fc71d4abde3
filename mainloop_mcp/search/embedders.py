"""Embedders: text in, unit vectors out, chosen by config (`embedder = "static" | "minilm"`).

Both run the same packaged all-MiniLM-L6-v2 (see minilm.py), offline and torch-free:
  minilm  the full transformer per message: the better vectors, tens of messages a second on 2 cores;
  static  model2vec's idea (Tulkens & van Dongen, 2024): each vocabulary token is run through the
          transformer once, alone, and a message is the mean of its tokens' vectors. Tokens are
          distilled the first time they are seen and kept in a cache file, so after a warm-up it
          embeds tens of thousands of messages a second.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np

from mainloop_mcp.search.minilm import MAX_TOKENS, WIDTH, Floats, MiniLM, model_dir

if TYPE_CHECKING:
    from tokenizers import Tokenizer

EmbedderName = Literal["static", "minilm"]
DISTIL_BATCH = 512
CONTEXT_BATCH = 32
STATIC_MAX_TOKENS = 2048


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of `dim` columns, one row per text."""

    name: str
    dim: int

    def embed(self, texts: list[str]) -> Floats: ...


def _normalised(x: Floats) -> Floats:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    out: Floats = (x / np.maximum(norms, 1e-12)).astype(np.float32)
    return out


def _tokenizer(folder: Path, max_tokens: int) -> Tokenizer:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tok.enable_truncation(max_tokens)
    tok.no_padding()  # the packaged tokenizer.json pads to 128; batches pad themselves
    return tok


class MiniLMEmbedder:
    """The whole transformer per message (sentence-transformers' all-MiniLM-L6-v2 output)."""

    name = "minilm"
    dim = WIDTH

    def __init__(self, folder: Path | None = None) -> None:
        folder = folder or model_dir()
        self.model = MiniLM.load(folder)
        self.tokenizer = _tokenizer(folder, MAX_TOKENS)

    def embed(self, texts: list[str]) -> Floats:
        out = np.zeros((len(texts), WIDTH), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # like lengths together: less padding
        for start in range(0, len(order), CONTEXT_BATCH):
            rows = order[start : start + CONTEXT_BATCH]
            encoded = self.tokenizer.encode_batch([texts[i] for i in rows])
            width = max(len(e.ids) for e in encoded)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.float32)
            for j, e in enumerate(encoded):
                ids[j, : len(e.ids)] = e.ids
                mask[j, : len(e.ids)] = 1.0
            out[rows] = self.model.pooled(ids, mask)
        return _normalised(out)


class StaticEmbedder:
    """Mean of per-token vectors distilled from the transformer; tokens distilled on first sight."""

    name = "static"
    dim = WIDTH

    def __init__(self, cache_dir: Path, folder: Path | None = None) -> None:
        self.folder = folder or model_dir()
        self.tokenizer = _tokenizer(self.folder, STATIC_MAX_TOKENS)
        self.specials = {0, 100, 101, 102, 103}  # [PAD] [UNK] [CLS] [SEP] [MASK]
        vocab = self.tokenizer.get_vocab_size()
        self.cache = cache_dir / "minilm-l6-static.npz"
        self.table = np.zeros((vocab, WIDTH), dtype=np.float32)  # 47 MB; float16 would halve it but slows sums 10x
        self.known = np.zeros(vocab, dtype=bool)
        self.lock = threading.Lock()
        if self.cache.exists():
            saved = np.load(self.cache)
            if saved["table"].shape == self.table.shape:
                self.table, self.known = saved["table"].astype(np.float32), saved["known"].astype(bool)

    def distil(self, token_ids: set[int]) -> int:
        """Run the tokens not yet in the table through the transformer; saves the cache. Returns how many.

        The transformer (90 MB) is loaded only while there are new tokens, then let go."""
        with self.lock:
            todo = np.array(sorted(t for t in token_ids if not self.known[t]), dtype=np.int64)
            if not len(todo):
                return 0
            model = MiniLM.load(self.folder)
            for start in range(0, len(todo), DISTIL_BATCH):
                chunk = todo[start : start + DISTIL_BATCH]
                self.table[chunk] = model.token_vectors(chunk)
                self.known[chunk] = True
            self._save()
            return len(todo)

    def _save(self) -> None:
        self.cache.parent.mkdir(parents=True, exist_ok=True)
        partial = self.cache.with_name(f"{self.cache.stem}.{os.getpid()}.partial.npz")
        np.savez(partial, table=self.table, known=self.known)
        partial.replace(self.cache)

    def embed(self, texts: list[str]) -> Floats:
        # encode_batch_fast skips character offsets, which only snippets would need
        encoded = self.tokenizer.encode_batch_fast(texts, add_special_tokens=False)
        specials = np.array(sorted(self.specials), dtype=np.int64)
        ids = [np.array(e.ids, dtype=np.int64) for e in encoded]
        ids = [row[~np.isin(row, specials)] for row in ids]
        if ids:
            self.distil({int(t) for t in np.unique(np.concatenate(ids))})
        out = np.zeros((len(texts), WIDTH), dtype=np.float32)
        for i, row in enumerate(ids):
            if len(row):
                out[i] = self.table[row].mean(axis=0)
        return _normalised(out)


def make_embedder(name: EmbedderName, cache_dir: Path) -> Embedder:
    if name == "minilm":
        return MiniLMEmbedder()
    return StaticEmbedder(cache_dir)
