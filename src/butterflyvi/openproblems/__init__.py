"""butterflyvi as a method of the OpenProblems ``predict_modality`` task
(``openproblems-bio/task_predict_modality``).

- :func:`predict_modality`: the method, on the task's own files (paths or AnnData);
- :func:`process_dataset`, :func:`harness_modality`: build task files from paired data as the
  harness does (normalisations GEX ``log_cp10k``, ADT ``clr``, ATAC ``tfidf``);
- :class:`NotApplicable`: a pair the method cannot take (the harness's exit code 99).

The command line: ``butterflyvi predict-modality --input_train_mod1 ... --output ...``.
"""

from ._contract import NotApplicable
from ._method import METHOD_ID, predict_modality
from ._tasks import harness_modality, process_dataset

__all__ = ["METHOD_ID", "NotApplicable", "harness_modality", "predict_modality", "process_dataset"]
