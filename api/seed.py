"""The seed's function, `predict_credit_score`: the 11 form features → (score, label), not logged.

It scores with the running server's predictor when a service is loaded in this process, else with one
loaded once from `MODEL_DIR`. `app_gradio.py` re-exports it (the seed's users import it from there).
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from api.app import loaded_service
from api.refusals import ModelUnavailable, shown_path
from api.scoring_service import load_predictor, validator_for
from scoring.schema import UI_FEATURE_NAMES, label_for
from serving.predictor import Predictor
from serving.rules import Rules

_standalone: Predictor | None = None  # loaded once from MODEL_DIR when no server runs in this process
# (predictor, argument check, the model's names among the 11 and their positions in the arguments, the rules)
_checked: tuple[Predictor, Callable[[Sequence[Any]], None], tuple[str, ...], tuple[int, ...], Rules] | None = None


class OutOfRangeWarning(UserWarning):
    """Values accepted past the range the model saw in training (scored: the model extrapolates)."""


def _predictor() -> Predictor:
    """The server's predictor when a service is loaded; else one loaded once from `MODEL_DIR`, with
    no prediction logger (the seed's function scores, it does not log)."""
    global _standalone
    service = loaded_service()
    if service is not None:
        return service.require_model()[0]
    if _standalone is None:
        predictor, why = load_predictor()
        if predictor is None:
            raise ModelUnavailable(f"no model loaded: {shown_path(why)}")
        _standalone = predictor
    return _standalone


def _scorer() -> tuple[Predictor, Callable[[Sequence[Any]], None], tuple[str, ...], tuple[int, ...], Rules]:
    """The predictor, the argument check (the API's rules) and the arguments the model reads (gender
    is checked but not scored by a model without it), built once per predictor."""
    global _checked
    predictor = _predictor()
    if _checked is None or _checked[0] is not predictor:
        args = list(inspect.signature(predict_credit_score).parameters)
        validator = validator_for(predictor)
        check = validator.scalar_checker(list(zip(args, UI_FEATURE_NAMES, strict=True)))
        used = tuple(i for i, name in enumerate(UI_FEATURE_NAMES) if name in predictor.index)
        _checked = (predictor, check, tuple(UI_FEATURE_NAMES[i] for i in used), used, validator.rules)
    return _checked


def predict_credit_score(
    ext_source_1: float,
    ext_source_2: float,
    ext_source_3: float,
    education_higher: float,
    education_secondary: float,
    card_atm_drawings_mean: float,
    income_working: float,
    gender_female: float,
    gender_male: float,
    flag_document_3: float,
    bureau_overdue_max: float,
) -> tuple[float, str]:
    """The seed's function: the 11 form features (schema order) → (score, label). Not logged.

    The arguments follow the API's rules (`serving.validation`): a ValueError names the argument for a
    NaN, an infinity, a string, a value outside its domain (impossible), a flag other than 0/1, or both
    options of an exclusive group (gender, education). A value past the range seen in training is scored
    and flagged by an `OutOfRangeWarning` naming the features (the API's `out_of_range`). An external
    score, the card withdrawals or the bureau overdue may be None: unknown, scored as missing. Gender is
    checked, and scored only by a model that uses it (the default model does not).
    """
    values = (ext_source_1, ext_source_2, ext_source_3, education_higher, education_secondary,
              card_atm_drawings_mean, income_working, gender_female, gender_male, flag_document_3,
              bureau_overdue_max)
    predictor, check, names, used, rules = _scorer()
    check(values)
    unseen = rules.out_of_range(UI_FEATURE_NAMES, values)
    if unseen:
        warnings.warn(f"outside the range seen in training (scored, the model extrapolates): {', '.join(unseen)}",
                      OutOfRangeWarning, stacklevel=2)
    score = predictor.score_values(names, values if len(used) == len(values) else tuple(values[i] for i in used))
    return score, label_for(score, predictor.threshold)
