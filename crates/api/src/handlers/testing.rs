//! `/testing/clock`: the test clock, when `CLOCK_CONTROL` enables it (404
//! otherwise). Moving it runs the scheduler's pass before answering, so a
//! client reads every due transition's effects at once.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::auth::Writer;
use crate::error::ApiError;
use crate::wire::{invalid, missing, parse_json, timestamp};

/// The clock's answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = testClock)]
pub struct ClockDto {
    now: String,
}

impl ClockDto {
    fn at(now: DateTime<Utc>) -> Json<Self> {
        Json(Self {
            now: timestamp(now),
        })
    }
}

/// The body of `POST /testing/clock`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = testClockAdvance)]
#[serde(rename_all = "camelCase")]
pub struct AdvanceBody {
    advance_by: Option<String>,
}

/// `GET /testing/clock`.
pub async fn get_clock(
    caller: Writer,
    State(state): State<AppState>,
) -> Result<Json<ClockDto>, ApiError> {
    Ok(ClockDto::at(
        state.use_cases.lifecycle.clock(caller.actor()).await?,
    ))
}

/// `POST /testing/clock` with `{"advanceBy": "P3D"}`.
pub async fn advance_clock(
    caller: Writer,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<ClockDto>, ApiError> {
    let raw = parse_json::<AdvanceBody>(&body)?
        .advance_by
        .ok_or_else(|| missing("advanceBy"))?;
    let by = iso_duration(&raw).ok_or_else(|| {
        invalid(
            "advanceBy",
            &format!(
                "'{raw}' is not an ISO 8601 duration of days, hours, minutes and seconds, \
                 such as P3D or PT1H30M"
            ),
        )
    })?;
    Ok(ClockDto::at(
        state
            .use_cases
            .lifecycle
            .advance_clock(caller.actor(), by)
            .await?,
    ))
}

/// Parses an ISO 8601 duration with days, hours, minutes and seconds
/// (`P3D`, `PT12H`, `P1DT2H30M15.5S`, `P2W`); years and months, whose length
/// varies, are refused.
pub fn iso_duration(raw: &str) -> Option<chrono::Duration> {
    let rest = raw.strip_prefix('P')?;
    let (date, time) = match rest.split_once('T') {
        Some((date, time)) if !time.is_empty() => (date, Some(time)),
        Some(_) => return None,
        None => (rest, None),
    };
    if date.is_empty() && time.is_none() {
        return None;
    }
    let mut total = chrono::Duration::zero();
    let date_units: &[(char, f64)] = &[('W', 604_800.0), ('D', 86_400.0)];
    let time_units: &[(char, f64)] = &[('H', 3600.0), ('M', 60.0), ('S', 1.0)];
    for (part, units) in [(date, date_units), (time.unwrap_or(""), time_units)] {
        let mut remaining = part;
        let mut last_unit = 0;
        while !remaining.is_empty() {
            let end = remaining.find(|c: char| c.is_ascii_alphabetic())?;
            let (number, unit) = (&remaining[..end], remaining[end..].chars().next()?);
            let position = units.iter().position(|(u, _)| *u == unit)?;
            // Units in order, each once.
            if position < last_unit {
                return None;
            }
            last_unit = position + 1;
            let value: f64 = number
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite() && *v >= 0.0)?;
            let seconds = value * units[position].1;
            // Beyond a hundred years a test clock has no use.
            if seconds > 3.2e9 {
                return None;
            }
            total += chrono::Duration::milliseconds((seconds * 1000.0).round() as i64);
            remaining = &remaining[end + unit.len_utf8()..];
        }
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_of_days_hours_minutes_and_seconds_parse() {
        let cases = [
            ("P3D", chrono::Duration::days(3)),
            ("PT12H", chrono::Duration::hours(12)),
            ("P1DT2H30M", chrono::Duration::minutes(24 * 60 + 150)),
            ("PT1.5S", chrono::Duration::milliseconds(1500)),
            ("P2W", chrono::Duration::days(14)),
            ("P0D", chrono::Duration::zero()),
        ];
        for (raw, expected) in cases {
            assert_eq!(iso_duration(raw), Some(expected), "{raw}");
        }
    }

    #[test]
    fn malformed_or_calendar_durations_are_refused() {
        for raw in [
            "", "P", "PT", "3D", "P1Y", "P1M", "PT-1H", "P1H", "PT1D", "P1DT", "PT1M1H", "PT1H1H",
            "P1e99D",
        ] {
            assert_eq!(iso_duration(raw), None, "{raw}");
        }
    }
}
