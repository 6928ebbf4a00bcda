//! Dictionary entries: rows, API shapes, request bodies and what each kind of entry declares.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::{Validate, ValidationError};

use crate::audit::AuditAction;
use crate::db::schema::{activity_types, risk_groups};
use crate::http::rules::{
    forbid_null, rule, valid, wire_is_body, FreeText, Label, Patch, RequestBody, Rule,
};
use crate::policy::Action;

/// What one kind of dictionary entry declares; the shared steps in `service` and `routes` read it.
pub trait Entry: Serialize + Clone + Send + 'static {
    /// The fields of a `POST` body besides `code`.
    type New: RequestBody<Wire: CodeField> + Send + 'static;
    /// The fields of a `PATCH` body besides `code`.
    type Changes: RequestBody<Wire: CodeField> + Send + 'static;

    /// The audit entity type, e.g. `risk_group`.
    const ENTITY: &'static str;
    /// The entry's name in messages, e.g. `risk group`.
    const NOUN: &'static str;
    /// The collection's path; an entry lives at `<COLLECTION>/<code>`.
    const COLLECTION: &'static str;
    const CREATE_ACTION: AuditAction;
    const UPDATE_ACTION: AuditAction;
    /// Every field a create writes (the audit event's `changed_fields`).
    const FIELDS: &'static [&'static str];
    /// Body fields whose mere presence needs a permission beyond `dictionary.edit`.
    const GUARDED_FIELDS: &'static [(&'static str, Action)];

    /// A new entry at version 1.
    fn from_new(code: Code, new: Self::New) -> Self;
    fn code(&self) -> &str;
    fn version(&self) -> i64;
    /// Applies a PATCH; answers the names of the fields whose value changed.
    fn apply(&mut self, changes: Self::Changes) -> Vec<&'static str>;
}

/// An entry's code: `^[a-z][a-z0-9_]{1,49}$`. It never changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Code(String);

impl Code {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl Rule for Code {
    fn check(&self) -> Result<(), ValidationError> {
        let b = self.0.as_bytes();
        let valid = (2..=50).contains(&b.len())
            && b[0].is_ascii_lowercase()
            && b[1..]
                .iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_');
        if valid {
            Ok(())
        } else {
            Err(rule(
                "format",
                "expected 2–50 characters matching ^[a-z][a-z0-9_]{1,49}$",
            ))
        }
    }
}

/// The wire of a dictionary body carries the entry's `code` beside the kind's own fields.
pub trait CodeField {
    fn take_code(&mut self) -> Option<Code>;
}

macro_rules! code_field {
    ($($wire:ty),+) => {$(
        impl CodeField for $wire {
            fn take_code(&mut self) -> Option<Code> {
                self.code.take()
            }
        }
    )+};
}

/// `POST` body of any dictionary: its `code` and the kind's own fields.
#[derive(Debug)]
pub struct NewEntry<T> {
    pub code: Code,
    pub fields: T,
}

impl<T: RequestBody> RequestBody for NewEntry<T>
where
    T::Wire: CodeField,
{
    type Wire = T::Wire;
    fn from_wire(mut w: T::Wire) -> Option<Self> {
        Some(NewEntry {
            code: w.take_code()?,
            fields: T::from_wire(w)?,
        })
    }
}

/// `PATCH` body of any dictionary: the kind's own changes and, optionally, the (unchangeable) code.
#[derive(Debug)]
pub struct EntryPatch<T> {
    pub code: Option<Code>,
    pub changes: T,
}

impl<T: RequestBody> RequestBody for EntryPatch<T>
where
    T::Wire: CodeField,
{
    type Wire = T::Wire;
    fn from_wire(mut w: T::Wire) -> Option<Self> {
        Some(EntryPatch {
            code: w.take_code(),
            changes: T::from_wire(w)?,
        })
    }
}

/// Sets `field` to `value` when one is given and differs, noting `name` as changed.
fn set<T: PartialEq>(
    field: &mut T,
    value: Option<T>,
    name: &'static str,
    changed: &mut Vec<&'static str>,
) {
    if let Some(value) = value {
        if *field != value {
            *field = value;
            changed.push(name);
        }
    }
}

/// Like [`set`] for a nullable field: `null` clears it.
fn set_nullable<T: PartialEq>(
    field: &mut Option<T>,
    value: Patch<T>,
    name: &'static str,
    changed: &mut Vec<&'static str>,
) {
    let value = match value {
        Patch::Absent => return,
        Patch::Null => None,
        Patch::Value(v) => Some(v),
    };
    if *field != value {
        *field = value;
        changed.push(name);
    }
}

// ---------------------------------------------------------------------------------------------
// Risk groups

/// The stored row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = risk_groups)]
pub struct RiskGroupRow {
    pub code: String,
    pub label_en: String,
    pub label_pl: String,
    pub legal_basis: Option<String>,
    pub evidence_hint: Option<String>,
    pub statutory: bool,
    pub active: bool,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A risk group a participant can be qualified under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RiskGroup {
    #[schema(example = "long_term_unemployed", pattern = "^[a-z][a-z0-9_]{1,49}$")]
    pub code: String,
    #[schema(example = "Long-term unemployed people")]
    pub label_en: String,
    #[schema(example = "osoby długotrwale bezrobotne")]
    pub label_pl: String,
    /// For statutory groups, the point of art. 1 ust. 2 of the Act on social employment.
    #[schema(
        example = "art. 1 ust. 2 pkt 5 ustawy z dnia 13 czerwca 2003 r. o zatrudnieniu socjalnym (Dz.U. 2025 poz. 83)"
    )]
    pub legal_basis: Option<String>,
    /// What evidence to record when qualifying a participant under this group.
    pub evidence_hint: Option<String>,
    /// One of the groups named by the Act (seeded); only admins set this.
    pub statutory: bool,
    /// Retired groups (`false`) stay on record but are no longer offered.
    pub active: bool,
    pub version: i64,
}

impl From<RiskGroupRow> for RiskGroup {
    fn from(row: RiskGroupRow) -> Self {
        RiskGroup {
            code: row.code,
            label_en: row.label_en,
            label_pl: row.label_pl,
            legal_basis: row.legal_basis,
            evidence_hint: row.evidence_hint,
            statutory: row.statutory,
            active: row.active,
            version: row.version,
        }
    }
}

impl RiskGroupRow {
    pub fn new(group: &RiskGroup, now: NaiveDateTime) -> Self {
        RiskGroupRow {
            code: group.code.clone(),
            label_en: group.label_en.clone(),
            label_pl: group.label_pl.clone(),
            legal_basis: group.legal_basis.clone(),
            evidence_hint: group.evidence_hint.clone(),
            statutory: group.statutory,
            active: group.active,
            version: group.version,
            created_at: now,
            updated_at: now,
        }
    }
}

/// `POST /risk-groups` besides `code`.
#[derive(Debug)]
pub struct NewRiskGroup {
    pub label_en: Label,
    pub label_pl: Label,
    pub legal_basis: Option<Label>,
    pub evidence_hint: Option<FreeText>,
    pub statutory: Option<bool>,
    pub active: Option<bool>,
}

#[derive(Deserialize, Validate)]
pub struct NewRiskGroupWire {
    #[validate(required, custom(function = "valid"))]
    code: Option<Code>,
    #[validate(required, custom(function = "valid"))]
    label_en: Option<Label>,
    #[validate(required, custom(function = "valid"))]
    label_pl: Option<Label>,
    #[validate(custom(function = "valid"))]
    legal_basis: Option<Label>,
    #[validate(custom(function = "valid"))]
    evidence_hint: Option<FreeText>,
    statutory: Option<bool>,
    active: Option<bool>,
}

impl RequestBody for NewRiskGroup {
    type Wire = NewRiskGroupWire;
    fn from_wire(w: NewRiskGroupWire) -> Option<Self> {
        Some(NewRiskGroup {
            label_en: w.label_en?,
            label_pl: w.label_pl?,
            legal_basis: w.legal_basis,
            evidence_hint: w.evidence_hint,
            statutory: w.statutory,
            active: w.active,
        })
    }
}

/// `PATCH /risk-groups/{code}` besides `code`; `null` clears `legal_basis` and `evidence_hint`.
#[derive(Debug, Default, Deserialize, Validate)]
pub struct RiskGroupChanges {
    #[serde(default)]
    #[validate(custom(function = "valid"))]
    code: Option<Code>,
    #[serde(default, deserialize_with = "forbid_null")]
    #[validate(custom(function = "valid"))]
    pub label_en: Option<Label>,
    #[serde(default, deserialize_with = "forbid_null")]
    #[validate(custom(function = "valid"))]
    pub label_pl: Option<Label>,
    #[serde(default)]
    #[validate(custom(function = "valid"))]
    pub legal_basis: Patch<Label>,
    #[serde(default)]
    #[validate(custom(function = "valid"))]
    pub evidence_hint: Patch<FreeText>,
    #[serde(default, deserialize_with = "forbid_null")]
    pub statutory: Option<bool>,
    #[serde(default, deserialize_with = "forbid_null")]
    pub active: Option<bool>,
}

fn into_string_patch<T>(p: Patch<T>, f: impl FnOnce(T) -> String) -> Patch<String> {
    match p {
        Patch::Absent => Patch::Absent,
        Patch::Null => Patch::Null,
        Patch::Value(v) => Patch::Value(f(v)),
    }
}

impl Entry for RiskGroup {
    type New = NewRiskGroup;
    type Changes = RiskGroupChanges;

    const ENTITY: &'static str = "risk_group";
    const NOUN: &'static str = "risk group";
    const COLLECTION: &'static str = "/api/v1/risk-groups";
    const CREATE_ACTION: AuditAction = AuditAction::RiskGroupCreate;
    const UPDATE_ACTION: AuditAction = AuditAction::RiskGroupUpdate;
    const FIELDS: &'static [&'static str] = &[
        "code",
        "label_en",
        "label_pl",
        "legal_basis",
        "evidence_hint",
        "statutory",
        "active",
    ];
    const GUARDED_FIELDS: &'static [(&'static str, Action)] =
        &[("statutory", Action::DictionarySetStatutory)];

    fn from_new(code: Code, new: NewRiskGroup) -> Self {
        RiskGroup {
            code: code.into_inner(),
            label_en: new.label_en.into_inner(),
            label_pl: new.label_pl.into_inner(),
            legal_basis: new.legal_basis.map(Label::into_inner),
            evidence_hint: new.evidence_hint.map(FreeText::into_inner),
            statutory: new.statutory.unwrap_or(false),
            active: new.active.unwrap_or(true),
            version: 1,
        }
    }

    fn code(&self) -> &str {
        &self.code
    }

    fn version(&self) -> i64 {
        self.version
    }

    fn apply(&mut self, changes: RiskGroupChanges) -> Vec<&'static str> {
        let mut changed = Vec::new();
        let c = &mut changed;
        set(
            &mut self.label_en,
            changes.label_en.map(Label::into_inner),
            "label_en",
            c,
        );
        set(
            &mut self.label_pl,
            changes.label_pl.map(Label::into_inner),
            "label_pl",
            c,
        );
        set_nullable(
            &mut self.legal_basis,
            into_string_patch(changes.legal_basis, Label::into_inner),
            "legal_basis",
            c,
        );
        set_nullable(
            &mut self.evidence_hint,
            into_string_patch(changes.evidence_hint, FreeText::into_inner),
            "evidence_hint",
            c,
        );
        set(&mut self.statutory, changes.statutory, "statutory", c);
        set(&mut self.active, changes.active, "active", c);
        changed
    }
}

// ---------------------------------------------------------------------------------------------
// Activity types

/// Whether an activity belongs to social or vocational reintegration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Area {
    Social,
    Vocational,
}

impl Area {
    pub const ALL: [Area; 2] = [Area::Social, Area::Vocational];

    pub fn as_str(self) -> &'static str {
        match self {
            Area::Social => "social",
            Area::Vocational => "vocational",
        }
    }

    pub fn parse(s: &str) -> Option<Area> {
        Area::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// The kind of activity, for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Diagnosis,
    SupportGroup,
    Psychoeducation,
    SelfEducation,
    Leisure,
    IndividualCounselling,
    ProactiveWorkshop,
    Course,
    WorkPractice,
    Other,
}

impl Category {
    pub const ALL: [Category; 10] = [
        Category::Diagnosis,
        Category::SupportGroup,
        Category::Psychoeducation,
        Category::SelfEducation,
        Category::Leisure,
        Category::IndividualCounselling,
        Category::ProactiveWorkshop,
        Category::Course,
        Category::WorkPractice,
        Category::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Diagnosis => "diagnosis",
            Category::SupportGroup => "support_group",
            Category::Psychoeducation => "psychoeducation",
            Category::SelfEducation => "self_education",
            Category::Leisure => "leisure",
            Category::IndividualCounselling => "individual_counselling",
            Category::ProactiveWorkshop => "proactive_workshop",
            Category::Course => "course",
            Category::WorkPractice => "work_practice",
            Category::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// The stored row; `area` and `category` are stored as their snake_case names.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = activity_types)]
pub struct ActivityTypeRow {
    pub code: String,
    pub label_en: String,
    pub label_pl: String,
    pub area: String,
    pub category: String,
    pub active: bool,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A kind of activity the unit runs (sessions are of one type).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ActivityType {
    #[schema(example = "support_group", pattern = "^[a-z][a-z0-9_]{1,49}$")]
    pub code: String,
    #[schema(example = "Support group")]
    pub label_en: String,
    #[schema(example = "grupa wsparcia")]
    pub label_pl: String,
    pub area: Area,
    pub category: Category,
    /// Retired types (`false`) stay on record but are no longer offered.
    pub active: bool,
    pub version: i64,
}

impl TryFrom<ActivityTypeRow> for ActivityType {
    type Error = String;

    fn try_from(row: ActivityTypeRow) -> Result<Self, String> {
        let area = Area::parse(&row.area)
            .ok_or_else(|| format!("activity type {}: unknown area {:?}", row.code, row.area))?;
        let category = Category::parse(&row.category).ok_or_else(|| {
            format!(
                "activity type {}: unknown category {:?}",
                row.code, row.category
            )
        })?;
        Ok(ActivityType {
            code: row.code,
            label_en: row.label_en,
            label_pl: row.label_pl,
            area,
            category,
            active: row.active,
            version: row.version,
        })
    }
}

impl ActivityTypeRow {
    pub fn new(t: &ActivityType, now: NaiveDateTime) -> Self {
        ActivityTypeRow {
            code: t.code.clone(),
            label_en: t.label_en.clone(),
            label_pl: t.label_pl.clone(),
            area: t.area.as_str().to_owned(),
            category: t.category.as_str().to_owned(),
            active: t.active,
            version: t.version,
            created_at: now,
            updated_at: now,
        }
    }
}

/// `POST /activity-types` besides `code`.
#[derive(Debug)]
pub struct NewActivityType {
    pub label_en: Label,
    pub label_pl: Label,
    pub area: Area,
    pub category: Category,
    pub active: Option<bool>,
}

#[derive(Deserialize, Validate)]
pub struct NewActivityTypeWire {
    #[validate(required, custom(function = "valid"))]
    code: Option<Code>,
    #[validate(required, custom(function = "valid"))]
    label_en: Option<Label>,
    #[validate(required, custom(function = "valid"))]
    label_pl: Option<Label>,
    #[validate(required)]
    area: Option<Area>,
    #[validate(required)]
    category: Option<Category>,
    active: Option<bool>,
}

impl RequestBody for NewActivityType {
    type Wire = NewActivityTypeWire;
    fn from_wire(w: NewActivityTypeWire) -> Option<Self> {
        Some(NewActivityType {
            label_en: w.label_en?,
            label_pl: w.label_pl?,
            area: w.area?,
            category: w.category?,
            active: w.active,
        })
    }
}

/// `PATCH /activity-types/{code}` besides `code`.
#[derive(Debug, Default, Deserialize, Validate)]
pub struct ActivityTypeChanges {
    #[serde(default)]
    #[validate(custom(function = "valid"))]
    code: Option<Code>,
    #[serde(default, deserialize_with = "forbid_null")]
    #[validate(custom(function = "valid"))]
    pub label_en: Option<Label>,
    #[serde(default, deserialize_with = "forbid_null")]
    #[validate(custom(function = "valid"))]
    pub label_pl: Option<Label>,
    #[serde(default, deserialize_with = "forbid_null")]
    pub area: Option<Area>,
    #[serde(default, deserialize_with = "forbid_null")]
    pub category: Option<Category>,
    #[serde(default, deserialize_with = "forbid_null")]
    pub active: Option<bool>,
}

wire_is_body!(RiskGroupChanges, ActivityTypeChanges);
code_field!(
    NewRiskGroupWire,
    RiskGroupChanges,
    NewActivityTypeWire,
    ActivityTypeChanges
);

impl Entry for ActivityType {
    type New = NewActivityType;
    type Changes = ActivityTypeChanges;

    const ENTITY: &'static str = "activity_type";
    const NOUN: &'static str = "activity type";
    const COLLECTION: &'static str = "/api/v1/activity-types";
    const CREATE_ACTION: AuditAction = AuditAction::ActivityTypeCreate;
    const UPDATE_ACTION: AuditAction = AuditAction::ActivityTypeUpdate;
    const FIELDS: &'static [&'static str] =
        &["code", "label_en", "label_pl", "area", "category", "active"];
    const GUARDED_FIELDS: &'static [(&'static str, Action)] = &[];

    fn from_new(code: Code, new: NewActivityType) -> Self {
        ActivityType {
            code: code.into_inner(),
            label_en: new.label_en.into_inner(),
            label_pl: new.label_pl.into_inner(),
            area: new.area,
            category: new.category,
            active: new.active.unwrap_or(true),
            version: 1,
        }
    }

    fn code(&self) -> &str {
        &self.code
    }

    fn version(&self) -> i64 {
        self.version
    }

    fn apply(&mut self, changes: ActivityTypeChanges) -> Vec<&'static str> {
        let mut changed = Vec::new();
        let c = &mut changed;
        set(
            &mut self.label_en,
            changes.label_en.map(Label::into_inner),
            "label_en",
            c,
        );
        set(
            &mut self.label_pl,
            changes.label_pl.map(Label::into_inner),
            "label_pl",
            c,
        );
        set(&mut self.area, changes.area, "area", c);
        set(&mut self.category, changes.category, "category", c);
        set(&mut self.active, changes.active, "active", c);
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn codes_follow_the_pattern() {
        for good in [
            "ab",
            "long_term_unemployed",
            "a1",
            &format!("a{}", "b".repeat(49)),
        ] {
            assert!(Code(good.to_owned()).check().is_ok(), "{good}");
        }
        for bad in [
            "a",
            "1ab",
            "_ab",
            "Ab",
            "a-b",
            "a b",
            "ąb",
            "",
            &format!("a{}", "b".repeat(50)),
        ] {
            assert_eq!(
                Code(bad.to_owned()).check().unwrap_err().code,
                "format",
                "{bad}"
            );
        }
    }

    #[test]
    fn apply_names_only_fields_that_change() {
        let mut g = RiskGroup {
            code: "local".into(),
            label_en: "Local".into(),
            label_pl: "Lokalna".into(),
            legal_basis: Some("uchwała".into()),
            evidence_hint: None,
            statutory: false,
            active: true,
            version: 1,
        };
        let changes = RiskGroupChanges {
            label_en: Some(serde_json::from_value(json!("Local")).unwrap()),
            legal_basis: Patch::Null,
            active: Some(false),
            ..Default::default()
        };
        assert_eq!(g.apply(changes), vec!["legal_basis", "active"]);
        assert_eq!(g.legal_basis, None);
        assert!(!g.active);
    }

    #[test]
    fn every_category_round_trips() {
        for c in Category::ALL {
            assert_eq!(Category::parse(c.as_str()), Some(c));
            assert_eq!(serde_json::to_value(c).unwrap(), json!(c.as_str()));
        }
        for a in Area::ALL {
            assert_eq!(Area::parse(a.as_str()), Some(a));
        }
    }
}
