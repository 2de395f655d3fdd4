"""Text embedders: the Embedder interface, its config and the factory.

    from memory_core.embedding import EmbedderConfig, create_embedder
    emb = create_embedder(EmbedderConfig())          # offline multilingual e5
    vectors = emb.embed_documents(["你好，我叫张三"])
"""

from .base import Embedder
from .config import EmbedderConfig, default_cache_dir
from .factory import create_embedder

__all__ = ["Embedder", "EmbedderConfig", "create_embedder", "default_cache_dir"]
