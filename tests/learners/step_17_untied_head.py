"""Kata 17, correct but written differently: lm_head not tied in code (the state dict holds both
names with the same values, so the numbers agree), the decoder layers in a ModuleList walked by
index, the final norm and head in LlamaForCausalLM's forward kept apart."""
from max.experimental.nn import Embedding, Linear, Module, ModuleList

from katas.step_13 import LlamaConfig, RMSNorm
from katas.step_15 import LlamaAttention
from katas.step_16 import LlamaMLP


class LlamaDecoderLayer(Module):
    def __init__(self, config: LlamaConfig):
        super().__init__()
        eps = config.rms_norm_eps
        self.input_layernorm = RMSNorm(config.hidden_size, eps=eps)
        self.self_attn = LlamaAttention(config)
        self.post_attention_layernorm = RMSNorm(config.hidden_size, eps=eps)
        self.mlp = LlamaMLP(config)

    def forward(self, hidden_states):
        attended = hidden_states + self.self_attn(self.input_layernorm(hidden_states))
        return attended + self.mlp(self.post_attention_layernorm(attended))


class LlamaModel(Module):
    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.n_layers = config.num_hidden_layers
        self.embed_tokens = Embedding(config.vocab_size, dim=config.hidden_size)
        self.layers = ModuleList(LlamaDecoderLayer(config) for _ in range(self.n_layers))
        self.norm = RMSNorm(config.hidden_size, eps=config.rms_norm_eps)

    def forward(self, input_ids):
        h = self.embed_tokens(input_ids)
        for i in range(self.n_layers):
            h = self.layers[i](h)
        return self.norm(h)


class LlamaForCausalLM(Module):
    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.model = LlamaModel(config)
        self.lm_head = Linear(config.hidden_size, config.vocab_size, bias=False)

    def forward(self, input_ids):
        hidden = self.model(input_ids)
        logits = self.lm_head(hidden)
        return logits
