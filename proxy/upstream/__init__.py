"""The upstream models (litellm), behind one adapter: :class:`Upstream`."""

from proxy.upstream.adapter import MEMORY_DEPLOYMENT, RouterLLM, Upstream
from proxy.upstream.failures import upstream_error
from proxy.upstream.readiness import ModelStatus, model_status
from proxy.upstream.shapes import openai_chunk, openai_completion

__all__ = ["MEMORY_DEPLOYMENT", "ModelStatus", "RouterLLM", "Upstream", "model_status", "openai_chunk",
           "openai_completion", "upstream_error"]
