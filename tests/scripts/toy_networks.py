"""Small networks with the call conventions of EDM and OpenAI checkpoints, for testing
scripts/wrap_torchscript.py without downloading anything."""

import torch


class EdmStyle(torch.nn.Module):
    """forward(x, sigma, class_labels=None), like EDM's preconditioned networks."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(1, 1, 3, padding=1)
        self.embedding = torch.nn.Embedding(10, 1)

    def forward(self, x, sigma, class_labels=None):
        out = self.conv(x) * torch.tanh(sigma).view(-1, 1, 1, 1)
        if class_labels is not None:
            out = out + self.embedding(class_labels).view(-1, 1, 1, 1)
        return out


class OpenAiStyle(torch.nn.Module):
    """forward(x, timesteps), like OpenAI's consistency-model UNet without classes."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(1)
        self.conv = torch.nn.Conv2d(1, 1, 3, padding=1)

    def forward(self, x, timesteps):
        return self.conv(x) + 1e-3 * timesteps.view(-1, 1, 1, 1)


def edm_style():
    return EdmStyle()


def openai_style():
    return OpenAiStyle()


def not_a_module():
    return 42
