//! Unit settings: the stored row, the API shape and the `PUT` body with its ranges (api.md §4, §13.7).

use std::ops::RangeInclusive;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::{Validate, ValidationError};

use crate::db::schema::settings;
use crate::http::rules::{date, rule_at, rules_at, valid, Label, RequestBody};

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

#[derive(Deserialize, Serialize, Validate)]
#[validate(schema(function = "cis_programme_cap", skip_on_field_errors = false))]
pub struct NewSettingsWire {
    #[validate(required, custom(function = "valid"))]
    unit_name: Option<Label>,
    #[validate(required)]
    unit_kind: Option<UnitKind>,
    #[validate(required, range(min = 1, max = 36))]
    programme_months: Option<i64>,
    #[validate(
        required,
        length(min = 1, max = 5, code = "count"),
        custom(function = "ascending_months")
    )]
    follow_up_months: Option<Vec<i64>>,
    #[validate(required, range(min = 1, max = 50))]
    retention_years: Option<i64>,
    #[serde(default, deserialize_with = "date::opt")]
    project_retention_until: Option<NaiveDate>,
    #[validate(required, range(min = 7, max = 365))]
    review_interval_days: Option<i64>,
}

/// A CIS runs programmes of at most 24 months (the Act on social employment), so its default
/// length cannot be longer.
fn cis_programme_cap(w: &NewSettingsWire) -> Result<(), ValidationError> {
    let cap = i64::from(crate::programmes::dates::CIS_MAX_MONTHS);
    match (w.unit_kind, w.programme_months) {
        (Some(UnitKind::Cis), Some(months)) if months > cap => Err(rule_at(
            "programme_months",
            "cis_cap",
            "a CIS programme lasts at most 24 months",
        )),
        _ => Ok(()),
    }
}

/// `follow_up_months`: each 1–36, strictly ascending (so without repeats).
fn ascending_months(months: &[i64]) -> Result<(), ValidationError> {
    let mut failures = Vec::new();
    for (i, m) in months.iter().enumerate() {
        let at = i.to_string();
        if !FOLLOW_UP_MONTH.contains(m) {
            failures.push(rule_at(&at, "range", "must be between 1 and 36"));
        } else if i > 0 && *m <= months[i - 1] {
            failures.push(rule_at(
                &at,
                "order",
                "values must be strictly ascending, without repeats",
            ));
        }
    }
    rules_at(failures)
}

impl RequestBody for NewSettings {
    type Wire = NewSettingsWire;
    fn from_wire(w: NewSettingsWire) -> Option<Self> {
        // The ranges above make every number fit an i32.
        let small = |n: Option<i64>| n.and_then(|n| i32::try_from(n).ok());
        Some(NewSettings {
            unit_name: w.unit_name?,
            unit_kind: w.unit_kind?,
            programme_months: small(w.programme_months)?,
            follow_up_months: w
                .follow_up_months?
                .into_iter()
                .map(|m| small(Some(m)))
                .collect::<Option<_>>()?,
            retention_years: small(w.retention_years)?,
            project_retention_until: w.project_retention_until,
            review_interval_days: small(w.review_interval_days)?,
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
    use crate::http::rules::{field_codes, read_body};
    use serde_json::{json, Value};

    fn fields(body: Value) -> Vec<(String, String)> {
        field_codes::<NewSettings>(&body)
    }

    fn valid() -> Value {
        json!({"unit_name": "KIS Łódź", "unit_kind": "cis", "programme_months": 12,
               "follow_up_months": [3, 6, 12], "retention_years": 5,
               "project_retention_until": null, "review_interval_days": 90})
    }

    #[test]
    fn a_valid_body_parses() {
        let today = NaiveDate::from_ymd_opt(2026, 6, 15).unwrap();
        let s: NewSettings = read_body(&valid(), today).unwrap();
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
            with(json!([6, 3, 3, 37])),
            vec![
                ("/follow_up_months/1".into(), "order".into()),
                ("/follow_up_months/2".into(), "order".into()),
                ("/follow_up_months/3".into(), "range".into()),
            ]
        );
        // A value of the wrong JSON type is reported alone: the list cannot be read around it.
        assert_eq!(
            with(json!([6, "x"])),
            vec![("/follow_up_months/1".into(), "type".into())]
        );
        assert_eq!(
            with(json!("3,6")),
            vec![("/follow_up_months".into(), "type".into())]
        );
    }

    #[test]
    fn a_cis_cannot_default_to_more_than_24_months() {
        let mut body = valid();
        body["programme_months"] = json!(25);
        assert_eq!(
            fields(body.clone()),
            vec![("/programme_months".into(), "cis_cap".into())]
        );
        body["unit_kind"] = json!("kis");
        assert_eq!(fields(body), vec![]);
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
