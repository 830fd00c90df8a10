"""Inputs and outputs (SPEC §4, §5 file conventions): read and validate persons, enrollments
and claims from CSV, Parquet or JSON Lines; write result frames; 身份证号 helpers.

Readers return frames with the exact dtypes of `schemas.py`, money as Int64 fen, or raise one
`yibao.errors.InputError` listing every problem (code, `file:line` record, field).
"""

from yibao.io.idcard import mask_id_number, valid_id_number
from yibao.io.readers import (
    check_references,
    read_claims,
    read_enrollments,
    read_frame_any,
    read_inputs,
    read_persons,
    read_results,
)
from yibao.io.records import records_frame
from yibao.io.schemas import CLAIMS, ENROLLMENTS, PERSONS, RESULTS, Column, Table
from yibao.io.writers import write_frame

__all__ = [
    "CLAIMS",
    "ENROLLMENTS",
    "PERSONS",
    "RESULTS",
    "Column",
    "Table",
    "check_references",
    "mask_id_number",
    "read_claims",
    "read_enrollments",
    "read_frame_any",
    "read_inputs",
    "read_persons",
    "read_results",
    "records_frame",
    "valid_id_number",
    "write_frame",
]
