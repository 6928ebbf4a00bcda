//! Staff accounts: rows, API shapes and request bodies.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::{Validate, ValidateEmail, ValidationError};

use crate::auth::password::{check_new_password, check_password_length};
use crate::db::schema::staff;
use crate::http::rules::{
    date, forbid_null, rule, valid, wire_is_body, Name, Patch, RequestBody, Rule,
};
use crate::policy::Role;

/// The stored row; never serialised to a client (it holds the password hash).
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Identifiable)]
#[diesel(table_name = staff)]
pub struct StaffRow {
    pub id: String,
    pub email: String,
    pub full_name: String,
    pub full_name_key: String,
    pub password_hash: String,
    pub active: bool,
    pub active_until: Option<NaiveDate>,
    pub must_change_password: bool,
    pub token_version: i64,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A staff member with their roles.
#[derive(Debug, Clone)]
pub struct StaffMember {
    pub row: StaffRow,
    pub roles: Vec<Role>,
}

impl StaffMember {
    /// Active, and not past `active_until` (an inclusive date) on `today`.
    pub fn can_sign_in(&self, today: NaiveDate) -> bool {
        self.row.active && self.row.active_until.is_none_or(|until| today <= until)
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// A staff account as administrators see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Staff {
    pub id: String,
    #[schema(example = "anna.kowalska@club.example.org")]
    pub email: String,
    pub full_name: String,
    pub roles: Vec<Role>,
    pub active: bool,
    /// Last day (inclusive) the account may sign in, e.g. the end of an inspection.
    pub active_until: Option<NaiveDate>,
    pub must_change_password: bool,
    pub version: i64,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "crate::http::serialize_instant")]
    pub created_at: NaiveDateTime,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "crate::http::serialize_instant")]
    pub updated_at: NaiveDateTime,
}

impl From<&StaffMember> for Staff {
    fn from(m: &StaffMember) -> Self {
        Staff {
            id: m.row.id.clone(),
            email: m.row.email.clone(),
            full_name: m.row.full_name.clone(),
            roles: m.roles.clone(),
            active: m.row.active,
            active_until: m.row.active_until,
            must_change_password: m.row.must_change_password,
            version: m.row.version,
            created_at: m.row.created_at,
            updated_at: m.row.updated_at,
        }
    }
}

/// What every staff member may see of colleagues: enough to pick care teams and facilitators.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StaffDirectoryEntry {
    pub id: String,
    pub full_name: String,
    pub roles: Vec<Role>,
    pub active: bool,
}

impl From<&StaffMember> for StaffDirectoryEntry {
    fn from(m: &StaffMember) -> Self {
        StaffDirectoryEntry {
            id: m.row.id.clone(),
            full_name: m.row.full_name.clone(),
            roles: m.roles.clone(),
            active: m.row.active,
        }
    }
}

/// A list entry: the full record for admins, the directory entry for everyone else.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum StaffListItem {
    Full(Staff),
    Directory(StaffDirectoryEntry),
}

/// An e-mail address, trimmed and lowercased (uniqueness is case-insensitive); its [`Rule`] is
/// `validator`'s e-mail syntax, a dotted domain and RFC 5321's 254 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub const MAX_CHARS: usize = 254;

    pub fn parse(raw: &str) -> Result<Email, ValidationError> {
        let email = Email(raw.trim().to_lowercase());
        email.check().map(|_| email)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Email {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Email(String::deserialize(d)?.trim().to_lowercase()))
    }
}

impl Rule for Email {
    fn check(&self) -> Result<(), ValidationError> {
        let s = &self.0;
        if s.chars().count() > Email::MAX_CHARS {
            return Err(rule("too_long", "at most 254 characters"));
        }
        let dotted = s.rsplit_once('@').is_some_and(|(_, domain)| {
            domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
        });
        if dotted && s.validate_email() {
            Ok(())
        } else {
            Err(rule(
                "email",
                "expected an e-mail address such as name@example.org",
            ))
        }
    }
}

/// A password as sent. Its length is its own [`Rule`]; the rules that need the e-mail or the
/// current password are checked by the body or the service.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Password(pub String);

/// `validator` copies checked values into its error parameters; a password never goes there.
impl Serialize for Password {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Rule for Password {
    fn check(&self) -> Result<(), ValidationError> {
        check_password_length(&self.0)
    }
}

/// A non-empty set of roles: repeats dropped, in a stable order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Roles(pub Vec<Role>);

impl<'de> Deserialize<'de> for Roles {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut roles = Vec::<Role>::deserialize(d)?;
        roles.sort();
        roles.dedup();
        Ok(Roles(roles))
    }
}

impl Rule for Roles {
    fn check(&self) -> Result<(), ValidationError> {
        if self.0.is_empty() {
            return Err(rule("required", "at least one role"));
        }
        Ok(())
    }
}

/// The new-password rules of a body with an e-mail beside the password. The e-mail part of the
/// rule is skipped while the e-mail itself is invalid (it has its own error then).
fn password_with_email(
    password: Option<&Password>,
    email: Option<&Email>,
) -> Result<(), ValidationError> {
    let Some(password) = password.filter(|p| p.check().is_ok()) else {
        return Ok(());
    };
    let email = email.filter(|e| e.check().is_ok()).map(Email::as_str);
    check_new_password(&password.0, email.unwrap_or(""), None).map_err(|mut e| {
        e.add_param("field".into(), &"initial_password");
        e
    })
}

/// `POST /staff`.
#[derive(Debug, Deserialize, Validate)]
#[validate(schema(function = "new_staff_password", skip_on_field_errors = false))]
pub struct NewStaffWire {
    #[validate(required, custom(function = "valid"))]
    email: Option<Email>,
    #[validate(required, custom(function = "valid"))]
    full_name: Option<Name>,
    #[validate(required, custom(function = "valid"))]
    roles: Option<Roles>,
    #[serde(default, deserialize_with = "date::opt")]
    active_until: Option<NaiveDate>,
    #[validate(required, custom(function = "valid"))]
    initial_password: Option<Password>,
}

fn new_staff_password(body: &NewStaffWire) -> Result<(), ValidationError> {
    password_with_email(body.initial_password.as_ref(), body.email.as_ref())
}

#[derive(Debug)]
pub struct NewStaff {
    pub email: Email,
    pub full_name: Name,
    pub roles: Roles,
    pub active_until: Option<NaiveDate>,
    pub initial_password: Password,
}

impl RequestBody for NewStaff {
    type Wire = NewStaffWire;
    fn from_wire(w: NewStaffWire) -> Option<Self> {
        Some(NewStaff {
            email: w.email?,
            full_name: w.full_name?,
            roles: w.roles?,
            active_until: w.active_until,
            initial_password: w.initial_password?,
        })
    }
}

/// `PATCH /staff/{id}`: every field optional; `active_until: null` clears the limit.
#[derive(Debug, Default, Deserialize, Validate)]
pub struct StaffPatch {
    #[serde(default, deserialize_with = "forbid_null")]
    #[validate(custom(function = "valid"))]
    pub email: Option<Email>,
    #[serde(default, deserialize_with = "forbid_null")]
    #[validate(custom(function = "valid"))]
    pub full_name: Option<Name>,
    #[serde(default, deserialize_with = "forbid_null")]
    #[validate(custom(function = "valid"))]
    pub roles: Option<Roles>,
    #[serde(default, deserialize_with = "forbid_null")]
    pub active: Option<bool>,
    #[serde(default, deserialize_with = "date::patch")]
    pub active_until: Patch<NaiveDate>,
}

/// `POST /staff/{id}/reset-password` (the rules need the account's e-mail: the service checks
/// them).
#[derive(Debug, Deserialize, Validate)]
pub struct ResetPasswordWire {
    #[validate(required)]
    initial_password: Option<Password>,
}

#[derive(Debug)]
pub struct ResetPassword {
    pub initial_password: Password,
}

impl RequestBody for ResetPassword {
    type Wire = ResetPasswordWire;
    fn from_wire(w: ResetPasswordWire) -> Option<Self> {
        Some(ResetPassword {
            initial_password: w.initial_password?,
        })
    }
}

wire_is_body!(StaffPatch);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lowercased_and_checked() {
        assert_eq!(
            Email::parse("  Anna.K@Club.Example.ORG ").unwrap().as_str(),
            "anna.k@club.example.org"
        );
        for bad in [
            "anna",
            "anna@",
            "@club.pl",
            "anna@club",
            "an na@club.pl",
            "a@b@c.pl",
            "anna@club..pl",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }
}
