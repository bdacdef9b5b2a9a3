from ._callbacks import BestWeightsEarlyStopping, PretrainEarlyStopping
from ._interrupt import interrupts_as_keyboard_interrupt
from ._plan import VALIDATION_MONITOR, ButterflyTrainingPlan, NonFiniteLossError

__all__ = [
    "VALIDATION_MONITOR",
    "BestWeightsEarlyStopping",
    "ButterflyTrainingPlan",
    "NonFiniteLossError",
    "PretrainEarlyStopping",
    "interrupts_as_keyboard_interrupt",
]
