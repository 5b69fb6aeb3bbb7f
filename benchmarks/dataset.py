"""A reproducible benchmark dataset: many small files, large compressible files, large
incompressible files; and a reproducible 1% change to it.

Bytes come from BLAKE3 in XOF mode (fast, seeded, identical on every machine), so the
same ``--size`` always gives the same tree.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path

import blake3

# 16 symbols: ~4 bits of entropy per byte, so zstd roughly halves it (like logs, CSV, JSON).
_TEXTISH = bytes.maketrans(bytes(range(256)), (b"etaoin shrdlu,\n." * 16))
_WRITE_BLOCK = 8 * 1024 * 1024


@dataclass(frozen=True)
class Mix:
    small_share: float = 0.2  # many 1-64 KiB files
    compressible_share: float = 0.4  # a few large text-like files
    incompressible_share: float = 0.4  # a few large random files (media, compressed archives)


def stream(seed: str, size: int) -> bytes:
    return blake3.blake3(seed.encode(), max_threads=blake3.blake3.AUTO).digest(length=size)


def _write_large(path: Path, seed: str, size: int, compressible: bool) -> None:
    with open(path, "wb") as handle:
        written = 0
        block = 0
        while written < size:
            part = stream(f"{seed}/{block}", min(_WRITE_BLOCK, size - written))
            handle.write(part.translate(_TEXTISH) if compressible else part)
            written += len(part)
            block += 1


def generate(root: Path, size: int, mix: Mix = Mix()) -> None:
    """Create the dataset under ``root`` (which must not exist)."""
    root.mkdir(parents=True)
    rng = random.Random(f"salvage-bench-{size}")
    small_budget = int(size * mix.small_share)
    count = 0
    while small_budget > 0:
        file_size = min(rng.randint(1024, 64 * 1024), small_budget)
        directory = root / "small" / f"d{count // 500:04d}"
        directory.mkdir(parents=True, exist_ok=True)
        data = stream(f"small/{count}", file_size)
        (directory / f"f{count:06d}.dat").write_bytes(data.translate(_TEXTISH) if count % 2 else data)
        small_budget -= file_size
        count += 1
    for kind, share, compressible in (
        ("text", mix.compressible_share, True),
        ("random", mix.incompressible_share, False),
    ):
        total = int(size * share)
        files = max(1, min(4, total // (64 * 1024 * 1024)))
        (root / kind).mkdir()
        for n in range(files):
            _write_large(root / kind / f"{kind}{n}.bin", f"{kind}/{n}", total // files, compressible)


def change_one_percent(root: Path, size: int) -> int:
    """Rewrite ~1% of the bytes: some small files, ranges in large ones, an append. Returns bytes changed."""
    rng = random.Random(f"salvage-bench-change-{size}")
    budget = size // 100
    changed = 0
    small = sorted((root / "small").rglob("*.dat"))
    for path in rng.sample(small, max(1, len(small) // 100)):
        data = stream(f"changed/{path.name}", path.stat().st_size)
        path.write_bytes(data)
        changed += len(data)
    large = sorted(p for kind in ("text", "random") for p in (root / kind).iterdir())
    per_file = max(0, (budget - changed) // len(large))
    for path in large:
        length = path.stat().st_size
        with open(path, "r+b") as handle:
            for piece in range(4):  # four scattered edits per file
                chunk = per_file // 4
                offset = rng.randrange(0, max(1, length - chunk))
                handle.seek(offset)
                handle.write(stream(f"edit/{path.name}/{piece}", chunk))
                changed += chunk
    with open(large[0], "ab") as handle:
        handle.write(stream("append", 1024 * 1024))
        changed += 1024 * 1024
    return changed


def tree_size(root: Path) -> tuple[int, int]:
    files = total = 0
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            files += 1
            total += os.lstat(os.path.join(dirpath, name)).st_size
    return files, total
