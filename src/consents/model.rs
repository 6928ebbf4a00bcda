//! Consents: the stored row, the API shape with its computed `state`, and the request bodies
//! (api.md §5 "Consents", §13.4).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::{Validate, ValidationError};

use crate::db::schema::consents;
use crate::http::rules::{date, rule_at, rules_at, valid, FreeText, Label, RequestBody};
use crate::participants::model::closed_enum;
use crate::policy::View;

closed_enum!(
    /// What the participant consented to. Statutory processing never rests on consent, so only
    /// the optional purposes are listed.
    Purpose {
        ContactAfterExit => "contact_after_exit",
        Image => "image",
        ShareWithEmployer => "share_with_employer",
        ShareWithOps => "share_with_ops",
        ShareWithPup => "share_with_pup",
        Other => "other",
    }
);

closed_enum!(
    /// Computed on every read from the dates and today's date in Europe/Warsaw: `pending` (granted
    /// in the future), `active` (valid today), `expired` (past `expires_on`), `withdrawn`.
    ConsentState {
        Pending => "pending",
        Active => "active",
        Expired => "expired",
        Withdrawn => "withdrawn",
    }
);

/// The stored row. Consents are never edited; only a withdrawal sets `withdrawn_on`,
/// `withdrawal_note` and bumps `version`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = consents)]
pub struct ConsentRow {
    pub id: String,
    pub participant_id: String,
    pub purpose: String,
    pub description: Option<String>,
    pub granted_on: NaiveDate,
    pub expires_on: Option<NaiveDate>,
    pub document_reference: String,
    pub withdrawn_on: Option<NaiveDate>,
    pub withdrawal_note: Option<String>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub created_by: String,
}

/// Is a consent with these dates valid on `day`? `granted_on ≤ day`, `expires_on` absent or
/// `day ≤ expires_on`, `withdrawn_on` absent or `day < withdrawn_on` (api.md §13.4).
pub fn valid_on(
    granted_on: NaiveDate,
    expires_on: Option<NaiveDate>,
    withdrawn_on: Option<NaiveDate>,
    day: NaiveDate,
) -> bool {
    granted_on <= day && expires_on.is_none_or(|e| day <= e) && withdrawn_on.is_none_or(|w| day < w)
}

/// The state of a consent on `today`.
pub fn state_on(
    granted_on: NaiveDate,
    expires_on: Option<NaiveDate>,
    withdrawn_on: Option<NaiveDate>,
    today: NaiveDate,
) -> ConsentState {
    if withdrawn_on.is_some() {
        ConsentState::Withdrawn
    } else if today < granted_on {
        ConsentState::Pending
    } else if valid_on(granted_on, expires_on, None, today) {
        ConsentState::Active
    } else {
        ConsentState::Expired
    }
}

/// A consent as the API shows it. Auditors (who read consents as evidence of lawful contact)
/// get `withdrawal_note` as `null`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Consent {
    pub id: String,
    pub participant_id: String,
    pub purpose: Purpose,
    /// Required for purpose `other`.
    pub description: Option<String>,
    pub granted_on: NaiveDate,
    pub expires_on: Option<NaiveDate>,
    pub document_reference: String,
    pub withdrawn_on: Option<NaiveDate>,
    pub withdrawal_note: Option<String>,
    pub state: ConsentState,
    pub version: i64,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "crate::http::serialize_instant")]
    pub created_at: NaiveDateTime,
    pub created_by: String,
}

impl Consent {
    pub fn from_row(row: ConsentRow, view: View, today: NaiveDate) -> Consent {
        Consent {
            state: state_on(row.granted_on, row.expires_on, row.withdrawn_on, today),
            purpose: Purpose::parse(&row.purpose).unwrap_or(Purpose::Other),
            withdrawal_note: row.withdrawal_note.filter(|_| view == View::Full),
            id: row.id,
            participant_id: row.participant_id,
            description: row.description,
            granted_on: row.granted_on,
            expires_on: row.expires_on,
            document_reference: row.document_reference,
            withdrawn_on: row.withdrawn_on,
            version: row.version,
            created_at: row.created_at,
            created_by: row.created_by,
        }
    }
}

/// `POST /participants/{id}/consents`.
pub struct NewConsent {
    pub purpose: Purpose,
    pub description: Option<FreeText>,
    pub granted_on: NaiveDate,
    pub expires_on: Option<NaiveDate>,
    pub document_reference: Label,
}

/// Wire shape of [`NewConsent`].
#[derive(Deserialize, Validate)]
#[validate(schema(function = "consent_rules", skip_on_field_errors = false))]
pub struct NewConsentWire {
    #[validate(required)]
    purpose: Option<Purpose>,
    #[validate(custom(function = "valid"))]
    description: Option<FreeText>,
    #[serde(default, deserialize_with = "date::opt")]
    #[validate(required)]
    granted_on: Option<NaiveDate>,
    #[serde(default, deserialize_with = "date::opt")]
    expires_on: Option<NaiveDate>,
    #[validate(required, custom(function = "valid"))]
    document_reference: Option<Label>,
}

/// `other` says what it is about (stricter than api.md, which leaves `description` optional: a
/// consent to an unnamed purpose proves nothing); a consent cannot expire before it was given.
fn consent_rules(w: &NewConsentWire) -> Result<(), ValidationError> {
    let mut failures = Vec::new();
    if w.purpose == Some(Purpose::Other) && w.description.is_none() {
        failures.push(rule_at(
            "description",
            "required",
            "is required when the purpose is `other`",
        ));
    }
    if let (Some(granted), Some(expires)) = (w.granted_on, w.expires_on) {
        if expires < granted {
            failures.push(rule_at(
                "expires_on",
                "before_granted_on",
                "must not be before granted_on",
            ));
        }
    }
    rules_at(failures)
}

impl RequestBody for NewConsent {
    type Wire = NewConsentWire;
    fn from_wire(w: NewConsentWire) -> Option<Self> {
        Some(NewConsent {
            purpose: w.purpose?,
            description: w.description,
            granted_on: w.granted_on?,
            expires_on: w.expires_on,
            document_reference: w.document_reference?,
        })
    }
}

/// `POST /consents/{id}/withdraw`. The date rules need the stored consent and are checked by
/// the service.
pub struct Withdrawal {
    pub withdrawn_on: NaiveDate,
    pub note: Option<FreeText>,
}

/// Wire shape of [`Withdrawal`].
#[derive(Deserialize, Validate)]
pub struct WithdrawalWire {
    #[serde(default, deserialize_with = "date::opt")]
    #[validate(required)]
    withdrawn_on: Option<NaiveDate>,
    #[validate(custom(function = "valid"))]
    note: Option<FreeText>,
}

impl RequestBody for Withdrawal {
    type Wire = WithdrawalWire;
    fn from_wire(w: WithdrawalWire) -> Option<Self> {
        Some(Withdrawal {
            withdrawn_on: w.withdrawn_on?,
            note: w.note,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn validity_follows_the_three_dates() {
        let g = d("2026-03-01");
        assert!(!valid_on(g, None, None, d("2026-02-28")));
        assert!(valid_on(g, None, None, g));
        assert!(valid_on(g, Some(d("2026-03-10")), None, d("2026-03-10")));
        assert!(!valid_on(g, Some(d("2026-03-10")), None, d("2026-03-11")));
        assert!(valid_on(g, None, Some(d("2026-03-05")), d("2026-03-04")));
        assert!(!valid_on(g, None, Some(d("2026-03-05")), d("2026-03-05")));
    }

    #[test]
    fn states() {
        let g = d("2026-03-01");
        assert_eq!(
            state_on(g, None, None, d("2026-02-01")),
            ConsentState::Pending
        );
        assert_eq!(state_on(g, None, None, g), ConsentState::Active);
        assert_eq!(
            state_on(g, Some(g), None, d("2026-03-02")),
            ConsentState::Expired
        );
        assert_eq!(state_on(g, None, Some(g), g), ConsentState::Withdrawn);
    }

    #[test]
    fn other_needs_a_description_and_expiry_follows_grant() {
        let body = json!({"purpose": "other", "granted_on": "2026-03-02",
                          "expires_on": "2026-03-01", "document_reference": "Z/1"});
        assert_eq!(
            crate::http::rules::field_codes::<NewConsent>(&body),
            vec![
                ("/description".to_string(), "required".to_string()),
                ("/expires_on".to_string(), "before_granted_on".to_string()),
            ]
        );
    }
}
