from ._callbacks import BestWeightsEarlyStopping
from ._plan import VALIDATION_MONITOR, ButterflyTrainingPlan, NonFiniteLossError

__all__ = [
    "VALIDATION_MONITOR",
    "BestWeightsEarlyStopping",
    "ButterflyTrainingPlan",
    "NonFiniteLossError",
]
