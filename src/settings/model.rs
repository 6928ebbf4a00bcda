//! Unit settings: the stored row, the API shape and the `PUT` body with its ranges (api.md §4, §13.7).

use std::ops::RangeInclusive;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::db::schema::settings;
use crate::http::body::{FieldErrors, FromBody, Label, Obj, SerdeField};

/// Whether the unit is a social integration club (KIS) or centre (CIS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    Kis,
    Cis,
}

impl UnitKind {
    pub const ALL: [UnitKind; 2] = [UnitKind::Kis, UnitKind::Cis];

    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::Kis => "kis",
            UnitKind::Cis => "cis",
        }
    }

    pub fn parse(s: &str) -> Option<UnitKind> {
        UnitKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl SerdeField for UnitKind {
    const EXPECTED: &'static str = "one of `kis`, `cis`";
}

/// The stored row (`id` is always 1).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = settings)]
pub struct SettingsRow {
    pub id: i32,
    pub unit_name: String,
    pub unit_kind: String,
    pub programme_months: i32,
    /// A JSON array of whole numbers, e.g. `[3,6,12]`.
    pub follow_up_months: String,
    pub retention_years: i32,
    pub project_retention_until: Option<NaiveDate>,
    pub review_interval_days: i32,
    pub version: i64,
    pub updated_at: NaiveDateTime,
}

/// The unit's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Settings {
    #[schema(example = "Klub Integracji Społecznej")]
    pub unit_name: String,
    pub unit_kind: UnitKind,
    /// Length of the programme, in months (1–36).
    #[schema(example = 12, minimum = 1, maximum = 36)]
    pub programme_months: i32,
    /// When follow-ups fall due, in months after the programme ends: 1–5 strictly ascending
    /// values, each 1–36.
    #[schema(example = json!([3, 6, 12]))]
    pub follow_up_months: Vec<i32>,
    /// How long case records are kept after the programme ends, in years (1–50).
    #[schema(example = 5, minimum = 1, maximum = 50)]
    pub retention_years: i32,
    /// The end of an ESF+ or other funder's retention period, when the unit knows it.
    pub project_retention_until: Option<NaiveDate>,
    /// Days between reviews of an individual action plan (7–365).
    #[schema(example = 90, minimum = 7, maximum = 365)]
    pub review_interval_days: i32,
    pub version: i64,
}

impl TryFrom<SettingsRow> for Settings {
    type Error = String;

    fn try_from(row: SettingsRow) -> Result<Self, String> {
        let unit_kind = UnitKind::parse(&row.unit_kind)
            .ok_or_else(|| format!("unknown unit_kind {:?} in settings", row.unit_kind))?;
        let follow_up_months: Vec<i32> = serde_json::from_str(&row.follow_up_months)
            .map_err(|e| format!("settings.follow_up_months is not a JSON array: {e}"))?;
        Ok(Settings {
            unit_name: row.unit_name,
            unit_kind,
            programme_months: row.programme_months,
            follow_up_months,
            retention_years: row.retention_years,
            project_retention_until: row.project_retention_until,
            review_interval_days: row.review_interval_days,
            version: row.version,
        })
    }
}

pub const PROGRAMME_MONTHS: RangeInclusive<i64> = 1..=36;
pub const FOLLOW_UP_MONTH: RangeInclusive<i64> = 1..=36;
pub const FOLLOW_UP_COUNT: RangeInclusive<usize> = 1..=5;
pub const RETENTION_YEARS: RangeInclusive<i64> = 1..=50;
pub const REVIEW_INTERVAL_DAYS: RangeInclusive<i64> = 7..=365;

/// `PUT /settings`: a full replace; every field is required except `project_retention_until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSettings {
    pub unit_name: Label,
    pub unit_kind: UnitKind,
    pub programme_months: i32,
    pub follow_up_months: Vec<i32>,
    pub retention_years: i32,
    pub project_retention_until: Option<NaiveDate>,
    pub review_interval_days: i32,
}

/// A whole number within `range`, or an error at `pointer`.
fn whole_number_in(
    errors: &mut FieldErrors,
    value: &Value,
    pointer: &str,
    range: &RangeInclusive<i64>,
) -> Option<i32> {
    let n: i64 = errors.parse(value, pointer)?;
    match i32::try_from(n) {
        Ok(v) if range.contains(&n) => Some(v),
        _ => {
            errors.push(
                pointer,
                "range",
                format!(
                    "expected a whole number from {} to {}",
                    range.start(),
                    range.end()
                ),
            );
            None
        }
    }
}

/// A required whole-number field within `range`.
fn required_in(
    errors: &mut FieldErrors,
    obj: &Obj<'_>,
    key: &str,
    range: &RangeInclusive<i64>,
) -> Option<i32> {
    let pointer = obj.child(key);
    match obj.get(key) {
        None | Some(Value::Null) => {
            errors.push(pointer, "required", "is required");
            None
        }
        Some(v) => whole_number_in(errors, v, &pointer, range),
    }
}

/// `follow_up_months`: 1–5 strictly ascending values (so no repeats), each 1–36.
fn follow_up_months(errors: &mut FieldErrors, obj: &Obj<'_>) -> Option<Vec<i32>> {
    let pointer = obj.child("follow_up_months");
    let items = match obj.get("follow_up_months") {
        None | Some(Value::Null) => {
            errors.push(pointer, "required", "is required");
            return None;
        }
        Some(v) => errors.array(v, &pointer)?,
    };
    let mut ok = true;
    if !FOLLOW_UP_COUNT.contains(&items.len()) {
        errors.push(
            &pointer,
            "count",
            format!(
                "expected {} to {} values (got {})",
                FOLLOW_UP_COUNT.start(),
                FOLLOW_UP_COUNT.end(),
                items.len()
            ),
        );
        ok = false;
    }
    let mut months: Vec<i32> = Vec::with_capacity(items.len());
    let mut previous: Option<i32> = None;
    for (i, item) in items.iter().enumerate() {
        let item_pointer = format!("{pointer}/{i}");
        match whole_number_in(errors, item, &item_pointer, &FOLLOW_UP_MONTH) {
            Some(m) => {
                if previous.is_some_and(|p| m <= p) {
                    errors.push(
                        item_pointer,
                        "order",
                        "values must be strictly ascending, without repeats",
                    );
                    ok = false;
                }
                previous = Some(m);
                months.push(m);
            }
            None => ok = false,
        }
    }
    ok.then_some(months)
}

impl FromBody for NewSettings {
    fn from_body(body: &Value, errors: &mut FieldErrors) -> Option<Self> {
        let obj = errors.object(body, "")?;
        let unit_name = errors.required(&obj, "unit_name");
        let unit_kind = errors.required(&obj, "unit_kind");
        let programme_months = required_in(errors, &obj, "programme_months", &PROGRAMME_MONTHS);
        let follow_up_months = follow_up_months(errors, &obj);
        let retention_years = required_in(errors, &obj, "retention_years", &RETENTION_YEARS);
        let project_retention_until = errors.optional(&obj, "project_retention_until");
        let review_interval_days =
            required_in(errors, &obj, "review_interval_days", &REVIEW_INTERVAL_DAYS);
        Some(NewSettings {
            unit_name: unit_name?,
            unit_kind: unit_kind?,
            programme_months: programme_months?,
            follow_up_months: follow_up_months?,
            retention_years: retention_years?,
            project_retention_until: project_retention_until?,
            review_interval_days: review_interval_days?,
        })
    }
}

impl NewSettings {
    /// The names of the fields whose value differs from `current`.
    pub fn changed_fields(&self, current: &Settings) -> Vec<&'static str> {
        let mut changed = Vec::new();
        if self.unit_name.as_str() != current.unit_name {
            changed.push("unit_name");
        }
        if self.unit_kind != current.unit_kind {
            changed.push("unit_kind");
        }
        if self.programme_months != current.programme_months {
            changed.push("programme_months");
        }
        if self.follow_up_months != current.follow_up_months {
            changed.push("follow_up_months");
        }
        if self.retention_years != current.retention_years {
            changed.push("retention_years");
        }
        if self.project_retention_until != current.project_retention_until {
            changed.push("project_retention_until");
        }
        if self.review_interval_days != current.review_interval_days {
            changed.push("review_interval_days");
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::RawJson;
    use serde_json::json;

    fn fields(body: Value) -> Vec<(String, String)> {
        match RawJson(body, None).parse::<NewSettings>() {
            Ok(_) => Vec::new(),
            Err(crate::http::AppError::Validation(errs)) => {
                errs.into_iter().map(|e| (e.field, e.code)).collect()
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    fn valid() -> Value {
        json!({"unit_name": "KIS Łódź", "unit_kind": "cis", "programme_months": 12,
               "follow_up_months": [3, 6, 12], "retention_years": 5,
               "project_retention_until": null, "review_interval_days": 90})
    }

    #[test]
    fn a_valid_body_parses() {
        let s: NewSettings = RawJson(valid(), None).parse().unwrap();
        assert_eq!(s.unit_kind, UnitKind::Cis);
        assert_eq!(s.follow_up_months, vec![3, 6, 12]);
        assert_eq!(s.project_retention_until, None);
    }

    #[test]
    fn follow_up_months_are_ascending_unique_and_in_range() {
        let with = |months: Value| {
            let mut body = valid();
            body["follow_up_months"] = months;
            fields(body)
        };
        assert_eq!(with(json!([1, 36])), vec![]);
        assert_eq!(
            with(json!([])),
            vec![("/follow_up_months".into(), "count".into())]
        );
        assert_eq!(
            with(json!([1, 2, 3, 4, 5, 6])),
            vec![("/follow_up_months".into(), "count".into())]
        );
        assert_eq!(
            with(json!([6, 3, 3, 37, "x"])),
            vec![
                ("/follow_up_months/1".into(), "order".into()),
                ("/follow_up_months/2".into(), "order".into()),
                ("/follow_up_months/3".into(), "range".into()),
                ("/follow_up_months/4".into(), "type".into()),
            ]
        );
        assert_eq!(
            with(json!("3,6")),
            vec![("/follow_up_months".into(), "type".into())]
        );
    }

    #[test]
    fn numbers_outside_i32_are_out_of_range() {
        let mut body = valid();
        body["retention_years"] = json!(4_294_967_297_i64);
        assert_eq!(
            fields(body),
            vec![("/retention_years".into(), "range".into())]
        );
    }
}
