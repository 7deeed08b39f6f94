"""Task (breakthrough-cycle) durations and their censoring (:func:`build_tasks`; the
definitions are in the docstring of :mod:`consortia.measures`)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from consortia.contract import FIX_COLUMNS, TASK_STATUSES, Fix, inferred_task_status
from consortia.measures.inputs import (
    TASK_COLUMNS,
    TASK_PASSTHROUGH_COLUMNS,
    MeasureInputError,
    consortium_codes,
    require_columns,
    require_unique_keys,
    sorted_consortia,
)

_DAYS_PER_YEAR = 365.25


def censoring_date_of(tasks: pd.DataFrame, censoring_date=None) -> pd.Timestamp:
    """The configured censoring date, or the latest start/end date in the tasks table
    (NaT if it has none)."""
    if censoring_date is not None:
        if isinstance(censoring_date, (str, dt.date, dt.datetime, pd.Timestamp, np.datetime64)):
            parsed = pd.Timestamp(censoring_date)
        else:
            raise TypeError(
                f"censoring_date: expected a date or 'YYYY-MM-DD', got {censoring_date!r}"
            )
        if pd.isna(parsed):
            raise ValueError(f"censoring_date: {censoring_date!r} is not a date")
        return parsed.tz_localize(None) if parsed.tzinfo else parsed
    dates = [tasks[c] for c in ("start_date", "end_date") if c in tasks and tasks[c].notna().any()]
    return max(d.max() for d in dates) if dates else pd.NaT


def infer_task_status(tasks: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fill a missing status: ``achieved`` with an end date, ``ongoing`` without. Returns
    the tasks and one fix row per inferred status (``FIX_COLUMNS``, fix
    ``task_status_inferred``)."""
    inferred, has_end = inferred_task_status(tasks)
    status = tasks["status"] if "status" in tasks else pd.Series(None, tasks.index, dtype=object)
    missing = status.isna()
    out = tasks.assign(status=status.astype(object).where(~missing, inferred))
    rows = tasks[missing]
    if len(rows):
        record = rows.drop(columns=["source_row"], errors="ignore").to_json(
            orient="records", lines=True, date_format="iso"
        )
        reason = np.where(has_end[missing], "end_date given", "no end_date")
        fixes = pd.DataFrame(
            {
                "table": "tasks",
                "source_file": "",
                "source_row": rows["source_row"].to_numpy() if "source_row" in rows else pd.NA,
                "fix": str(Fix.TASK_STATUS_INFERRED),
                "column": "status",
                "detail": "status empty; set to " + inferred[missing] + " (" + reason + ")",
                "record": record.splitlines(),
            }
        )
    else:
        fixes = pd.DataFrame({c: pd.Series(dtype=object) for c in FIX_COLUMNS})
    return out, fixes[FIX_COLUMNS].reset_index(drop=True)


def _task_outcomes(
    tasks: pd.DataFrame, censoring_date=None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Timestamp]:
    """Tasks sorted by key with status filled, exit date, durations, event, censored and a
    ``_reason`` (why censored / why no duration); the status fixes; the censoring date."""
    require_columns(tasks, "tasks", ("consortium_id", "task_id"))
    require_unique_keys(
        [pd.factorize(tasks["consortium_id"])[0], pd.factorize(tasks["task_id"])[0]],
        "tasks",
        "(consortium_id, task_id)",
    )
    cdate = censoring_date_of(tasks, censoring_date)
    frame, fixes = infer_task_status(
        tasks.sort_values(["consortium_id", "task_id"], kind="mergesort").reset_index(drop=True)
    )
    unknown = ~frame["status"].isin(TASK_STATUSES)
    if unknown.any():
        raise MeasureInputError(
            f"tasks.status: {sorted(set(map(str, frame['status'][unknown])))[:5]} not in "
            f"{', '.join(TASK_STATUSES)}"
        )
    status = frame["status"].to_numpy(dtype=object)
    n = len(frame)
    nat = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    start = frame["start_date"].astype("datetime64[ns]") if "start_date" in frame else nat
    end = frame["end_date"].astype("datetime64[ns]") if "end_date" in frame else nat
    if (end < start).any():
        raise MeasureInputError(
            f"tasks: {int((end < start).sum())} task(s) end before they start; "
            "the cleaning quarantines them"
        )
    has_cut = pd.notna(cdate)
    started_late = (start > cdate) if has_cut else pd.Series(False, index=frame.index)
    ended_late = (end > cdate) if has_cut else pd.Series(False, index=frame.index)
    no_end = end.isna()
    closed = pd.Series(status != "ongoing", index=frame.index)
    # exit: end date; the censoring date if still running then; nothing if never at risk or
    # closed at an unknown date.
    exit_date = end.where(~ended_late, cdate if has_cut else pd.NaT)
    exit_date = exit_date.where(~(no_end & ~closed), cdate if has_cut else pd.NaT)
    exit_date = exit_date.where(~started_late, pd.NaT)
    event = (status == "achieved") & ~ended_late.to_numpy() & ~started_late.to_numpy()
    days = (exit_date - start) / pd.Timedelta(days=1)
    reason = np.select(
        [
            started_late.to_numpy(),
            event,
            ended_late.to_numpy(),
            (no_end & closed).to_numpy(),
            status == "abandoned",
            status == "ongoing",
        ],
        [
            "started_after_censoring_date",
            "event",
            "ended_after_censoring_date",
            "closed_without_end_date",
            "abandoned",
            "ongoing",
        ],
        "other",
    )
    reason = np.where((reason == "event") & no_end.to_numpy(), "closed_without_end_date", reason)
    reason = np.where(
        start.isna().to_numpy() & (reason != "started_after_censoring_date"),
        "no_start_date",
        reason,
    )
    frame = frame.assign(
        exit_date=exit_date,
        duration_days=days.astype("float64"),
        duration_years=(days / _DAYS_PER_YEAR).astype("float64"),
        event=event.astype(np.int64),
        censored=(1 - event.astype(np.int64)),
        _reason=reason,
    )
    assert len(frame) == n
    return frame, fixes, cdate


def build_tasks(
    tasks: pd.DataFrame,
    consortia: pd.DataFrame,
    censoring_date=None,
    *,
    return_fixes: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """One row per task with breakthrough-cycle duration and censoring (module docstring).

    Columns: ``TASK_COLUMNS`` in that order, less ``field`` / ``start_date`` /
    ``end_date`` / consortium attributes absent from the input (without ``start_date``
    also no durations). Sorted by consortium_id, task_id. With ``return_fixes=True``
    returns ``(tasks, fixes)``, ``fixes`` one row per inferred status (``FIX_COLUMNS``).
    """
    cons = sorted_consortia(consortia)
    frame, fixes, _ = _task_outcomes(tasks, censoring_date)
    code = consortium_codes(frame["consortium_id"], cons, "tasks")
    for attribute in ("lead_type", "industry", "high_tech"):
        if attribute in cons:
            frame[attribute] = cons[attribute].take(code).array
    drop = set()
    if "start_date" not in tasks:
        drop |= {"start_date", "duration_days", "duration_years"}
    if "end_date" not in tasks:
        drop.add("end_date")
    columns = [c for c in TASK_COLUMNS if c in frame and c not in drop]
    columns += [c for c in TASK_PASSTHROUGH_COLUMNS if c in frame]
    out = frame[columns].reset_index(drop=True)
    return (out, fixes) if return_fixes else out


def tasks_metadata(tasks: pd.DataFrame, censoring_date=None) -> dict:
    """Censoring of the tasks table (JSON-ready): the date used and where it came from,
    counts of events and of censored tasks by reason, tasks without a duration, and the
    statuses inferred."""
    frame, fixes, cdate = _task_outcomes(tasks, censoring_date)
    reasons = frame["_reason"].value_counts().sort_index()
    return {
        "censoring_date": None if pd.isna(cdate) else str(cdate.date()),
        "censoring_date_source": "config"
        if censoring_date is not None
        else "latest date in the tasks table",
        "tasks": len(frame),
        "events": int(frame["event"].sum()),
        "censored": int(frame["censored"].sum()),
        "by_reason": {str(k): int(v) for k, v in reasons.items()},
        "without_duration": int(frame["duration_days"].isna().sum()),
        "status_inferred": len(fixes),
    }
