"""Small Hugging Face models (no downloads) and their keyword inputs, shared by the tests and the benchmarks.

Imports torch and transformers only, so that a benchmark can build a model in a fresh process without loading
costmodel or a peer tool first.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import transformers as T
from torch import nn

SMALL = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64}


def token_ids(length: int = 16) -> torch.Tensor:
    return torch.randint(0, 100, (2, length), generator=torch.Generator().manual_seed(1))


def padded_mask() -> torch.Tensor:
    mask = torch.ones(2, 16, dtype=torch.long)
    mask[1, 10:] = 0  # the second sequence is padded: the mask really masks
    return mask


def images() -> torch.Tensor:
    return torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(2))


TOKENS = {"vocab_size": 100, "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2}

#: name -> (model from an attention implementation, its keyword inputs)
CASES: dict[str, tuple[Callable[[str], nn.Module], Callable[[], dict[str, torch.Tensor]]]] = {
    "bert": (
        lambda a: T.BertModel(T.BertConfig(max_position_embeddings=64, attn_implementation=a, **TOKENS, **SMALL)),
        lambda: {"input_ids": token_ids(), "attention_mask": padded_mask()},
    ),
    "distilbert": (
        lambda a: T.DistilBertModel(
            T.DistilBertConfig(
                vocab_size=100, dim=32, n_layers=2, n_heads=4, hidden_dim=64, max_position_embeddings=64,
                pad_token_id=0, attn_implementation=a,
            )
        ),
        lambda: {"input_ids": token_ids(), "attention_mask": padded_mask()},
    ),
    "gpt2": (
        lambda a: T.GPT2Model(
            T.GPT2Config(n_embd=32, n_layer=2, n_head=4, n_positions=64, attn_implementation=a, **TOKENS)
        ),
        lambda: {"input_ids": token_ids(), "attention_mask": padded_mask()},
    ),
    "llama": (
        lambda a: T.LlamaModel(
            T.LlamaConfig(num_key_value_heads=2, max_position_embeddings=64, attn_implementation=a, **TOKENS, **SMALL)
        ),
        lambda: {"input_ids": token_ids(), "attention_mask": padded_mask()},
    ),
    "qwen2": (
        lambda a: T.Qwen2Model(
            T.Qwen2Config(num_key_value_heads=2, max_position_embeddings=64, attn_implementation=a, **TOKENS, **SMALL)
        ),
        lambda: {"input_ids": token_ids()},
    ),
    "t5": (
        lambda a: T.T5Model(
            T.T5Config(
                d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4, decoder_start_token_id=0,
                attn_implementation=a, **TOKENS,
            )
        ),
        lambda: {"input_ids": token_ids(), "attention_mask": padded_mask(), "decoder_input_ids": token_ids(8)},
    ),
    "vit": (
        lambda a: T.ViTModel(T.ViTConfig(image_size=32, patch_size=8, attn_implementation=a, **SMALL)),
        lambda: {"pixel_values": images()},
    ),
    "whisper": (
        lambda a: T.WhisperModel(
            T.WhisperConfig(
                d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4, decoder_attention_heads=4,
                encoder_ffn_dim=64, decoder_ffn_dim=64, num_mel_bins=16, max_source_positions=32,
                max_target_positions=32, decoder_start_token_id=1, attn_implementation=a, **TOKENS,
            )
        ),
        lambda: {
            "input_features": torch.randn(2, 16, 64, generator=torch.Generator().manual_seed(3)),
            "decoder_input_ids": token_ids(8),
        },
    ),
    "clip": (
        lambda a: T.CLIPModel(
            T.CLIPConfig(
                text_config={"vocab_size": 100, "max_position_embeddings": 32, **SMALL},
                vision_config={"image_size": 32, "patch_size": 8, **SMALL},
                projection_dim=16,
                attn_implementation=a,
            )
        ),
        lambda: {"input_ids": token_ids(), "pixel_values": images(), "attention_mask": padded_mask()},
    ),
}  # fmt: skip
