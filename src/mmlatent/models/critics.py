"""Critics on decoded data: a discriminator per named modality that tells the data from what the
decoders make of codes, as in VAE-GAN (Larsen et al., "Autoencoding beyond pixels using a learned
similarity metric", ICML 2016).

Why: a decoder trained on a likelihood alone outputs each value's mean (or median) given the
code. Where the code leaves much open, as an image leaves the speaker of its spoken digit, that
mean is the speakers' common, smoothed spectrogram. A critic penalises outputs that data never
looks like, so the decoder commits to one sharp answer; the likelihood still decides what it says.

Both players train under the model's one optimiser, as the adversarial latent loss does: the
critic's loss sees detached outputs, the decoders' non-saturating loss goes through the critic's
detached weights (:func:`mmlatent.nn.adversarial.through_frozen`). That loss reaches the
encoders through the codes too, unless ``critics_train_encoders`` is off: then, as in VAE-GAN,
the critics see the criticised modalities decoded a second time from detached codes
(``LatentModel.critic_penalty``) and train the decoders alone.

Both terms count in training only. Validation and test log them and leave them out of the loss,
so early stopping and the best checkpoint rank epochs by the model's own objective, not by a
game between two networks whose score swings as either gains.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor, nn

from mmlatent.latent import LatentPenalty
from mmlatent.nn.adversarial import adversarial_loss, through_frozen
from mmlatent.nn.gan import Discriminator
from mmlatent.types import ModalitySpec

CRITIC_LOSS = adversarial_loss("non-saturating")
"""The GAN objective of every decoder critic (the one VAE-GAN trains)."""


class DecoderCritics(nn.Module):
    """One discriminator per weighted modality (image-like kinds).

    No spectral norm: a critic so constrained, trained one step per model step, barely tells
    real log-mels from ones blurred by one bin (held-out accuracy 0.62 after 300 steps, against
    0.92 without it), and blur is what it is there to see.
    """

    def __init__(
        self, specs: Mapping[str, ModalitySpec], weights: Mapping[str, float], hidden_dim: int
    ) -> None:
        super().__init__()
        self.weights = {m: float(w) for m, w in weights.items()}
        self.critics = nn.ModuleDict({m: Discriminator(specs[m], hidden_dim) for m in self.weights})

    def forward(self, decoded: Mapping[str, Tensor], real: Mapping[str, Tensor]) -> LatentPenalty:
        """``decoded[m]`` (N, *shape): outputs of the decoders, as data; ``real[m]`` (N', *shape):
        rows of data. A critic with nothing to compare (no real or no decoded rows in the batch)
        adds a zero that still reaches its weights, and logs zeros, so every process of a DDP run
        sees the same parameters used and the same terms.

        ``penalty``: sum_m weight_m * the decoders' loss (already weighted: the caller adds it
        as it is); ``auxiliary``: the critics' loss. Both are zero outside training (module
        docstring); the terms ``critic_<m>`` and ``fooled_<m>`` are always logged.
        """
        zero = next(iter(self.parameters())).new_zeros(())
        penalty, auxiliary = zero, zero
        terms: dict[str, Tensor] = {}
        for m, critic in self.critics.items():
            if m not in decoded or len(real.get(m, ())) == 0 or len(decoded[m]) == 0:
                unused = torch.stack([p.sum() for p in critic.parameters()]).sum() * 0.0
                auxiliary = auxiliary + unused
                terms |= {f"critic_{m}": zero, f"fooled_{m}": zero}
                continue
            fake = decoded[m]
            critic_loss = CRITIC_LOSS.discriminator(critic(real[m]), critic(fake.detach()))
            fooled = CRITIC_LOSS.generator(through_frozen(critic, fake))
            if self.training:
                penalty = penalty + self.weights[m] * fooled
                auxiliary = auxiliary + critic_loss
            terms |= {f"critic_{m}": critic_loss.detach(), f"fooled_{m}": fooled.detach()}
        return LatentPenalty(penalty, auxiliary, terms)
