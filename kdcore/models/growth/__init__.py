"""Growing a trained small network into a larger one (anti-distillation, Net2Net).

- :mod:`.layers`  unit maps and the growth of one Linear, Conv2d+BatchNorm or LSTM layer
  (zero pad, uniform pad, Net2Net function-preserving replication);
- :mod:`.models`  growing whole models layer by layer, transfer, freezing the body.
"""

from .layers import UnitMap, grow_conv_bn, grow_linear, grow_lstm, grow_vector, grow_weight
from .models import GROWTH_METHODS, GrowthMethod, freeze_body, grow, transfer

__all__ = ["UnitMap", "grow_weight", "grow_vector", "grow_linear", "grow_conv_bn", "grow_lstm",
           "GrowthMethod", "GROWTH_METHODS", "grow", "transfer", "freeze_body"]
