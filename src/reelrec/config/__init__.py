"""Training-run configuration: pydantic models loaded from TOML plus ``key.sub=value`` overrides.

Stability: provisional.
"""

from reelrec.config._load import apply_overrides, load_config, parse_override, validate_config
from reelrec.config._schema import DataConfig, RunConfig, TrainingConfig

__all__ = [
    "DataConfig",
    "RunConfig",
    "TrainingConfig",
    "apply_overrides",
    "load_config",
    "parse_override",
    "validate_config",
]
