"""Policy as code: dated, cited YAML parameters inheriting national → province → city."""

from yibao.policy.loader import (
    Policy,
    Provenance,
    RegionFile,
    Resolved,
    load_policy,
    read_region_file,
    shipped_regions,
)

__all__ = [
    "Policy",
    "Provenance",
    "RegionFile",
    "Resolved",
    "load_policy",
    "read_region_file",
    "shipped_regions",
]
