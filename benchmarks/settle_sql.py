"""SPEC §5 settlement as one DuckDB SQL statement with window functions.

The obvious alternative to yibao's kernel: every annual rule is a capped cumulative sum,
``min(cap, Σ_{j≤k} x_j) − min(cap, Σ_{j<k} x_j)``, so a running ``SUM(...) OVER w`` per
person-year ordered by (settle_date, claim_id) expresses it exactly, and G and H are
functions of such a sum. What a window cannot do is feed one payer's per-claim output into
the next payer's running sum in the same pass, so the statement is a chain of stages, each a
window pass over the previous one's output:

  s1  coverage and per-claim terms; the admission rank (a running count), the chronic
      running scope (annual chronic deductible) and the outpatient running raw (annual limit)
  s2  chronic raw per disease (a window partitioned by disease: the per-disease limit)
  s3  basic.annual_cap over inpatient + maternity + chronic raw
  s4  major illness: running burden e = scope − basic, G over brackets with tilt and cap
  s5  assistance, first layer: running r = scope − basic − major, H
  s6  assistance, second layer (only generated when some category has one): r2 = r − first

Parameters are literals taken from the resolved policy (``settle_rules.py``); the per-person tilt
and assistance terms come from small VALUES tables chosen by a CASE over the categories.
Money is BIGINT fen (Parquet holds Decimal(18,2) yuan; ×100 is exact), ratios basis points,
and every rounding is the half-up integer formula ``(2·x·bp + 10000) // 20000`` on
non-negative operands (DuckDB's ``//`` truncates, which equals floor there).
"""

from __future__ import annotations

from settle_rules import BP, Layer, Rules

W = "(PARTITION BY person_id, y ORDER BY settle_date, claim_id ROWS UNBOUNDED PRECEDING)"


def _lit(v: int | None) -> str:
    return "NULL" if v is None else str(int(v))


def _str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _case(column: str, table: dict[int, int] | dict[str, int], default: str = "NULL") -> str:
    if not table:
        return default
    arms = " ".join(f"WHEN {_str(k) if isinstance(k, str) else k} THEN {v}"
                    for k, v in table.items())
    return f"CASE {column} {arms} ELSE {default} END"


def mul_bp(fen: str, bp: str) -> str:
    return f"((2::BIGINT * ({fen}) * ({bp}) + {BP}) // {2 * BP})"


def round_bp(scaled: str) -> str:
    return f"((2::BIGINT * ({scaled}) + {BP}) // {2 * BP})"


def capped_step(limit: str, before: str, after: str) -> str:
    return f"(LEAST({limit}, {after}) - LEAST({limit}, {before}))"


def major_g(rules: Rules, s: str) -> str:
    """G(s) for the row's tilt terms m_ded, m_delta, m_cap (NULL = no cap), rounded."""
    terms = []
    lo = 0
    for upto, ratio in rules.brackets:
        rate = f"LEAST({BP}, {ratio} + m_delta)"
        if rules.cumulative_basis:
            z = s if upto is None else f"LEAST({upto}, {s})"
            terms.append(f"{rate} * GREATEST(0, {z} - GREATEST({lo}, m_ded))")
        else:
            x = f"({s} - m_ded)"
            z = x if upto is None else f"LEAST({upto}, {x})"
            terms.append(f"{rate} * GREATEST(0, {z} - {lo})")
        if upto is None:
            break
        lo = upto
    total = " + ".join(terms)
    capped = f"CASE WHEN m_cap IS NULL THEN {total} ELSE LEAST({total}, m_cap * {BP}) END"
    return round_bp(capped)


def assist_h(prefix: str, s: str) -> str:
    """H(s) for the row's layer terms {prefix}_ded, _ratio, _cap (NULL = no cap), rounded."""
    raw = f"{prefix}_ratio * GREATEST(0, {s} - {prefix}_ded)"
    capped = f"CASE WHEN {prefix}_cap IS NULL THEN {raw} ELSE LEAST({raw}, {prefix}_cap * {BP}) END"
    return round_bp(capped)


def _values(rows: list[tuple[int | None, ...]], names: list[str]) -> str:
    body = ", ".join("(" + ", ".join(_lit(v) for v in row) + ")" for row in rows)
    cols = ", ".join(names)
    if not rows:
        nulls = ", ".join("NULL::BIGINT" for _ in names)
        return f"(SELECT * FROM (VALUES ({nulls})) t({cols}) WHERE false)"
    typed = ", ".join(f"{c}::BIGINT AS {c}" for c in names)
    return f"(SELECT {typed} FROM (VALUES {body}) t({cols}))"


def _first_held(items: list[str]) -> str:
    """Row number (0-based) of the first of ``items`` a person's categories hold, else NULL."""
    if not items:
        return "NULL::INTEGER"
    arms = " ".join(f"WHEN list_contains(categories, {_str(c)}) THEN {i}"
                    for i, c in enumerate(items))
    return f"CASE {arms} END"


def settlement_sql(rules: Rules, persons: str, enrollments: str, claims: str) -> str:
    """A SELECT giving SPEC §5's result columns (money in fen) for every claim."""
    r = rules
    tilt_rows: list[tuple[int | None, ...]] = [
        (i, r.major_deductible * t.deductible_factor, t.ratio_delta,
         None if t.no_cap else r.major_cap) for i, t in enumerate(r.tilt)]
    # the tilted deductible is rounded half-up to the fen below (× factor / 10000)
    assist_rows: list[tuple[int | None, ...]] = []
    for i, a in enumerate(r.assistance):
        second = a.second or Layer(0, 0, None)
        assist_rows.append((i, a.first.deductible, a.first.ratio, a.first.cap,
                            int(a.second is not None), second.deductible, second.ratio,
                            second.cap))
    any_second = any(a.second is not None for a in r.assistance)

    level = "facility_level"
    ip_ded = _case(level, r.inpatient_deductible)
    ip_ratio = _case(level, r.inpatient_ratio)
    op_ded = _case(level, r.op_deductible)
    op_ratio = _case(level, r.op_ratio, "0")
    chronic_codes = ", ".join(_str(c) for c in r.chronic) or "NULL"
    chronic_ratio = _case("chronic_disease", {c: t[0] for c, t in r.chronic.items()})
    chronic_limit = _case("chronic_disease", {c: t[1] for c, t in r.chronic.items()})
    n_f = len(r.repeat_factor)
    factor = _case(f"LEAST(adm_rank, {n_f})", dict(enumerate(r.repeat_factor, start=1)))
    lump = ("NULL" if r.lump_sum is None
            else _case("maternity_kind", dict(r.lump_sum)))
    rule = (f"CASE WHEN visit_type = 'outpatient' THEN 'op' "
            f"WHEN visit_type = 'chronic' THEN 'chr' "
            f"WHEN visit_type = 'maternity' AND {lump} IS NOT NULL THEN 'lump' ELSE 'ip' END")
    major_visits = ", ".join(_str(v) for v in sorted(r.major_visits)) or "NULL"
    assist_visits = ", ".join(_str(v) for v in sorted(r.assist_visits)) or "NULL"
    exclude_d = "" if r.include_basic_deductible else " - d"

    second_stage = ""
    final_from = "s5"
    if any_second:
        final_from = "s6"
        second_stage = f""",
s6a AS (
  SELECT *, CASE WHEN has2 = 1 THEN r - first ELSE 0 END AS r2 FROM s5
),
s6b AS (
  SELECT *, SUM(r2) OVER {W}::BIGINT AS r2_after FROM s6a
),
s6 AS (
  SELECT *, CASE WHEN r2 = 0 THEN 0 ELSE
    {assist_h("a2", "r2_after")} - {assist_h("a2", "(r2_after - r2)")} END AS second
  FROM s6b
)"""
    second_col = "second" if any_second else "0"

    return f"""
WITH
enrolled AS (
  SELECT DISTINCT person_id, year AS y FROM read_parquet({_str(enrollments)})
  WHERE scheme = 'resident' AND starts_with(region, {_str(r.region_prefix)})
),
tilt AS {_values(tilt_rows, ["t_row", "m_ded_scaled", "m_delta", "m_cap"])},
assist AS {_values(assist_rows, ["a_row", "a1_ded", "a1_ratio", "a1_cap", "has2", "a2_ded",
                                 "a2_ratio", "a2_cap"])},
person AS (
  SELECT person_id, death_date, chronic AS certified,
         {_first_held([t.category for t in r.tilt])} AS t_row,
         {_first_held([a.category for a in r.assistance])} AS a_row
  FROM read_parquet({_str(persons)})
),
person_terms AS (
  SELECT p.person_id, p.death_date, p.certified,
         CASE WHEN t.t_row IS NULL THEN {r.major_deductible}
              ELSE {round_bp("t.m_ded_scaled")} END AS m_ded,
         COALESCE(t.m_delta, 0) AS m_delta,
         CASE WHEN t.t_row IS NULL THEN {r.major_cap} ELSE t.m_cap END AS m_cap,
         a.a_row IS NOT NULL AS assisted, a.a1_ded, a.a1_ratio, a.a1_cap, a.has2,
         a.a2_ded, a.a2_ratio, a.a2_cap
  FROM person p LEFT JOIN tilt t ON p.t_row = t.t_row LEFT JOIN assist a ON p.a_row = a.a_row
),
c0 AS (
  SELECT c.claim_id, c.person_id, c.facility_level, c.visit_type, c.chronic_disease,
         c.maternity_kind, c.out_of_region, c.settle_date, year(c.settle_date) AS y,
         CAST(c.total * 100 AS BIGINT) AS total,
         CAST((c.total - c.self_pay - c.class_b_self_pay) * 100 AS BIGINT) AS p,
         CASE WHEN e.person_id IS NULL THEN 'NOT_ENROLLED'
              WHEN c.admit_date > pt.death_date THEN 'AFTER_DEATH'
              WHEN c.settle_date < make_date(year(c.settle_date), 1, 1) THEN 'WAITING_PERIOD'
              WHEN c.visit_type = 'chronic' AND NOT COALESCE(
                   c.chronic_disease IN ({chronic_codes})
                   AND list_contains(pt.certified, c.chronic_disease), false)
                   THEN 'NOT_CERTIFIED'
              ELSE '' END AS reason,
         pt.m_ded, pt.m_delta, pt.m_cap, pt.assisted, pt.a1_ded, pt.a1_ratio, pt.a1_cap,
         pt.has2, pt.a2_ded, pt.a2_ratio, pt.a2_cap
  FROM read_parquet({_str(claims)}) c
  LEFT JOIN person_terms pt ON c.person_id = pt.person_id
  LEFT JOIN enrolled e ON e.person_id = c.person_id AND e.y = year(c.settle_date)
),
c1 AS (
  SELECT *, reason = '' AS cov, {rule} AS rule,
         LEAST(p, COALESCE({op_ded}, 0)) AS op_d,
         CASE WHEN {op_ded} IS NULL THEN 0 ELSE {op_ratio} END AS op_ratio
  FROM c0
),
c2 AS (
  SELECT *, CASE WHEN cov AND rule = 'op' THEN {mul_bp("p - op_d", "op_ratio")} ELSE 0 END
           AS op_raw
  FROM c1
),
s1 AS (
  SELECT *,
    SUM(CASE WHEN cov AND rule = 'ip' THEN 1 ELSE 0 END) OVER {W}::BIGINT AS adm_rank,
    SUM(CASE WHEN cov AND rule = 'chr' THEN p ELSE 0 END) OVER {W}::BIGINT AS cs_after,
    SUM(op_raw) OVER {W}::BIGINT AS op_after
  FROM c2
),
s1b AS (
  SELECT *,
    CASE WHEN NOT cov THEN 0
         WHEN rule = 'op' THEN op_d
         WHEN rule = 'chr' THEN {capped_step(str(r.chronic_deductible), "cs_after - p",
                                             "cs_after")}
         WHEN rule = 'ip' THEN LEAST(p, {mul_bp(
             f"CASE WHEN out_of_region THEN {r.oor_deductible} ELSE {ip_ded} END", factor)})
         ELSE 0 END AS d
  FROM s1
),
s1c AS (
  SELECT *,
    CASE WHEN cov AND rule = 'chr' THEN {mul_bp("p - d", chronic_ratio)} ELSE 0 END AS own,
    CASE WHEN NOT cov THEN 0
         WHEN rule = 'ip' THEN {mul_bp("p - d", f'''CASE WHEN out_of_region
                THEN GREATEST({ip_ratio} - {r.oor_delta}, 0) ELSE {ip_ratio} END''')}
         WHEN rule = 'lump' THEN LEAST(p, {lump})
         ELSE 0 END AS raw_ip
  FROM s1b
),
s2 AS (
  SELECT *,
    SUM(own) OVER (PARTITION BY person_id, y, chronic_disease ORDER BY settle_date, claim_id
                   ROWS UNBOUNDED PRECEDING)::BIGINT AS own_after
  FROM s1c
),
s2b AS (
  SELECT *,
    CASE WHEN cov AND rule = 'chr'
         THEN {capped_step(chronic_limit, "own_after - own", "own_after")}
         ELSE raw_ip END AS raw
  FROM s2
),
s3 AS (
  SELECT *, SUM(raw) OVER {W}::BIGINT AS raw_after FROM s2b
),
s3b AS (
  SELECT *,
    CASE WHEN NOT cov THEN 0
         WHEN rule = 'op' THEN {capped_step(str(r.op_limit), "op_after - op_raw", "op_after")}
         ELSE {capped_step(str(r.basic_cap), "raw_after - raw", "raw_after")} END AS basic
  FROM s3
),
s4a AS (
  SELECT *, CASE WHEN cov AND visit_type IN ({major_visits}) THEN p - basic{exclude_d}
                 ELSE 0 END AS e
  FROM s3b
),
s4b AS (
  SELECT *, SUM(e) OVER {W}::BIGINT AS e_after FROM s4a
),
s4 AS (
  SELECT *, CASE WHEN e = 0 THEN 0 ELSE
    {major_g(r, "e_after")} - {major_g(r, "(e_after - e)")} END AS major
  FROM s4b
),
s5a AS (
  SELECT *, CASE WHEN cov AND assisted AND visit_type IN ({assist_visits})
                 THEN p - basic - major ELSE 0 END AS r
  FROM s4
),
s5b AS (
  SELECT *, SUM(r) OVER {W}::BIGINT AS r_after FROM s5a
),
s5 AS (
  SELECT *, CASE WHEN r = 0 THEN 0 ELSE
    {assist_h("a1", "r_after")} - {assist_h("a1", "(r_after - r)")} END AS first
  FROM s5b
){second_stage}
SELECT claim_id, person_id, y AS year, cov AS covered, reason, p AS policy_scope,
       d AS deductible, basic, major, first + {second_col} AS assistance,
       total - basic - major - first - {second_col} AS oop,
       CASE WHEN cov THEN m_cap END AS major_cap
FROM {final_from}
"""
