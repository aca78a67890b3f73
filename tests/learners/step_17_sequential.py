"""Kata 17, correct but written differently: the layers in a Sequential (same parameter names as
a ModuleList), residuals kept in named variables, logits as a matmul with the head's weight."""
from max.experimental.nn import Embedding, Linear, Module, Sequential

from katas.step_13 import RMSNorm
from katas.step_15 import LlamaAttention
from katas.step_16 import LlamaMLP


class LlamaDecoderLayer(Module):
    def __init__(self, config):
        super().__init__()
        self.input_layernorm = RMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.self_attn = LlamaAttention(config)
        self.post_attention_layernorm = RMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.mlp = LlamaMLP(config)

    def forward(self, x):
        residual = x
        x = self.input_layernorm(x)
        x = self.self_attn(x)
        x = residual + x
        residual = x
        x = self.post_attention_layernorm(x)
        x = self.mlp(x)
        return residual + x


class LlamaModel(Module):
    def __init__(self, config):
        super().__init__()
        self.embed_tokens = Embedding(config.vocab_size, dim=config.hidden_size)
        layers = [LlamaDecoderLayer(config) for _ in range(config.num_hidden_layers)]
        self.layers = Sequential(*layers)
        self.norm = RMSNorm(config.hidden_size, eps=config.rms_norm_eps)

    def forward(self, input_ids):
        return self.norm(self.layers(self.embed_tokens(input_ids)))


class LlamaForCausalLM(Module):
    def __init__(self, config):
        super().__init__()
        self.model = LlamaModel(config)
        self.lm_head = Linear(config.hidden_size, config.vocab_size, bias=False)
        self.lm_head.weight = self.model.embed_tokens.weight

    def forward(self, input_ids):
        return self.model(input_ids) @ self.lm_head.weight.T
