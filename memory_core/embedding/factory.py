"""``create_embedder``: an EmbedderConfig in, a loaded Embedder out."""

from __future__ import annotations

from pathlib import Path

from ..errors import EmbedderUnavailableError
from . import e5_offline, minilm_offline
from .calibration import MINILM_L6, UNCALIBRATED, ScoreCalibration
from .config import EmbedderConfig
from .fastembed_embedder import (
    FastEmbedPipelineEmbedder,
    load_text_embedding,
    register_custom_model,
    session_embedder,
)
from .session_embedder import TextEmbedder

# onnxruntime intra-op threads. Measured on a 2-core machine (bench/embedding_bench.py):
# idle, 2 threads give 3.8 ms per query and 2x batch throughput against 5.6 ms on 1;
# with other work on the cores (load 5-7), 2 spinning threads fall to 8-16 ms p50
# (p95 30-65 ms) while 1 thread stays at ~6 ms. A server shares its cores, so 1
# thread is the default; set ``threads: 2`` on a machine that only embeds.
DEFAULT_THREADS = 1

# Calibrations of models fastembed downloads, by lower-cased fastembed name.
_KNOWN_CALIBRATIONS: dict[str, ScoreCalibration] = {
    "sentence-transformers/all-minilm-l6-v2": MINILM_L6,
}


def create_embedder(cfg: EmbedderConfig) -> TextEmbedder:
    """Build (first use only) and load the configured embedding model.

    >>> emb = create_embedder(EmbedderConfig())   # doctest: +SKIP
    >>> emb.name, emb.dims
    ('multilingual-e5-small', 384)

    Raises EmbedderUnavailableError, saying what to do, when the model cannot be
    built, found or loaded. The embedder comes back ready: what its scores are
    measured against is embedded now, not on the first search.
    """
    embedder = _load(cfg)
    embedder.prepare_scoring()
    return embedder


def _load(cfg: EmbedderConfig) -> TextEmbedder:
    cache_dir = cfg.resolved_cache_dir()
    threads = cfg.threads or DEFAULT_THREADS
    if cfg.provider == "e5-offline":
        return e5_offline.load_e5_embedder(
            cache_dir,
            threads=threads,
            query_prefix=_pick(cfg.query_prefix, e5_offline.QUERY_PREFIX),
            document_prefix=_pick(cfg.document_prefix, e5_offline.DOCUMENT_PREFIX),
        )
    if cfg.provider == "minilm-offline":
        folder = minilm_offline.ensure_minilm_model(cache_dir)
        register_custom_model(minilm_offline.FASTEMBED_NAME, dims=minilm_offline.DIMS)
        model = load_text_embedding(minilm_offline.FASTEMBED_NAME, folder, threads=threads, cache_dir=cache_dir)
        return session_embedder(
            model,
            name="all-MiniLM-L6-v2",
            dims=minilm_offline.DIMS,
            query_prefix=_pick(cfg.query_prefix, ""),
            document_prefix=_pick(cfg.document_prefix, ""),
            calibration=MINILM_L6,
        )
    if cfg.provider == "fastembed":
        return _fastembed(cfg, cache_dir, threads)
    return _local(cfg, cache_dir, threads)


def _fastembed(cfg: EmbedderConfig, cache_dir: Path, threads: int) -> TextEmbedder:
    assert cfg.model is not None
    try:
        model = load_text_embedding(cfg.model, None, threads=threads, cache_dir=cache_dir / "fastembed")
    except EmbedderUnavailableError as exc:
        raise EmbedderUnavailableError(
            f"{exc.message}. Without access to the model hub use provider 'e5-offline' (built "
            "from a PyPI package, no download) or provider 'local' with a model folder."
        ) from exc
    e5_family = "e5" in cfg.model.lower()
    options = dict(
        name=cfg.model,
        dims=model.embedding_size,
        query_prefix=_pick(cfg.query_prefix, e5_offline.QUERY_PREFIX if e5_family else ""),
        document_prefix=_pick(cfg.document_prefix, e5_offline.DOCUMENT_PREFIX if e5_family else ""),
        calibration=_KNOWN_CALIBRATIONS.get(cfg.model.lower(), UNCALIBRATED),
    )
    if cfg.pooling is not None:
        return session_embedder(model, pooling=cfg.pooling, **options)
    return FastEmbedPipelineEmbedder(model, **options)  # fastembed's pooling for this model


def _local(cfg: EmbedderConfig, cache_dir: Path, threads: int) -> TextEmbedder:
    assert cfg.path is not None and cfg.dims is not None
    folder = Path(cfg.path).expanduser()
    required = ("model.onnx", "tokenizer.json", "tokenizer_config.json")
    missing = [f for f in required if not (folder / f).is_file()]
    if missing:
        raise EmbedderUnavailableError(
            f"the local model folder {folder} lacks {', '.join(missing)}; it needs "
            f"{', '.join(required)} (tokenizer_config.json with model_max_length and pad_token)"
        )
    pooling = cfg.pooling or "mean"
    display = cfg.model or folder.name
    # fastembed keys custom models by name, with one pooling and size each.
    fastembed_name = f"memproxy-local/{display}-{pooling}-{cfg.dims}"
    register_custom_model(fastembed_name, dims=cfg.dims, pooling=pooling)
    embedder = session_embedder(
        load_text_embedding(fastembed_name, folder, threads=threads, cache_dir=cache_dir),
        pooling=pooling,
        name=display,
        dims=cfg.dims,
        query_prefix=cfg.query_prefix or "",
        document_prefix=cfg.document_prefix or "",
        calibration=UNCALIBRATED,
    )
    embedder.embed_documents(["dimension check"])  # raises if the model's size is not cfg.dims
    return embedder


def _pick(override: str | None, default: str) -> str:
    return default if override is None else override
