//! Staff accounts: rows, API shapes and request bodies.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::db::schema::staff;
use crate::http::body::{FieldErrors, FieldProblem, FromBody, FromField, Name, Patch};
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

/// An e-mail address, trimmed and lowercased (uniqueness is case-insensitive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Email, FieldProblem> {
        let s = raw.trim().to_lowercase();
        let invalid = || {
            FieldProblem::new(
                "email",
                "expected an e-mail address such as name@example.org",
            )
        };
        if s.chars().count() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = s.split_once('@').ok_or_else(invalid)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
        if local.is_empty() || local.chars().count() > 64 || local.contains('@') || !domain_ok {
            return Err(invalid());
        }
        Ok(Email(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromField for Email {
    fn from_field(value: &Value) -> Result<Self, FieldProblem> {
        let s = crate::http::body::string_field(value)?;
        Email::parse(s)
    }
}

/// A password as sent: any string; the rules are checked where the e-mail is known.
#[derive(Clone)]
pub struct Password(pub String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

impl FromField for Password {
    fn from_field(value: &Value) -> Result<Self, FieldProblem> {
        crate::http::body::string_field(value).map(|s| Password(s.to_owned()))
    }
}

/// A non-empty set of roles, without repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roles(pub Vec<Role>);

impl FromField for Roles {
    fn from_field(value: &Value) -> Result<Self, FieldProblem> {
        let items = value
            .as_array()
            .ok_or_else(|| FieldProblem::new("type", "expected an array of roles"))?;
        let mut roles = Vec::new();
        for item in items {
            let role = item
                .as_str()
                .and_then(Role::parse)
                .ok_or_else(|| FieldProblem::new("enum", format!("unknown role {item}; expected one of admin, manager, psychologist, social_worker, counsellor, auditor")))?;
            if !roles.contains(&role) {
                roles.push(role);
            }
        }
        if roles.is_empty() {
            return Err(FieldProblem::new("required", "at least one role"));
        }
        roles.sort();
        Ok(Roles(roles))
    }
}

/// `POST /staff`.
#[derive(Debug)]
pub struct NewStaff {
    pub email: Email,
    pub full_name: Name,
    pub roles: Roles,
    pub active_until: Option<NaiveDate>,
    pub initial_password: Password,
}

impl FromBody for NewStaff {
    fn from_body(body: &Value, errors: &mut FieldErrors) -> Option<Self> {
        let obj = errors.object(body, "")?;
        let email: Option<Email> = errors.required(&obj, "email");
        let full_name = errors.required(&obj, "full_name");
        let roles = errors.required(&obj, "roles");
        let active_until = errors.optional(&obj, "active_until");
        let initial_password: Option<Password> = errors.required(&obj, "initial_password");
        if let (Some(email), Some(pw)) = (&email, &initial_password) {
            if let Err(p) = crate::auth::password::check_new_password(&pw.0, email.as_str(), None) {
                errors.push("/initial_password", p.code, p.message);
            }
        }
        Some(NewStaff {
            email: email?,
            full_name: full_name?,
            roles: roles?,
            active_until: active_until?,
            initial_password: initial_password?,
        })
    }
}

/// `PATCH /staff/{id}`: every field optional; `active_until: null` clears the limit.
#[derive(Debug, Default)]
pub struct StaffPatch {
    pub email: Option<Email>,
    pub full_name: Option<Name>,
    pub roles: Option<Roles>,
    pub active: Option<bool>,
    pub active_until: Patch<NaiveDate>,
}

impl FromBody for StaffPatch {
    fn from_body(body: &Value, errors: &mut FieldErrors) -> Option<Self> {
        let obj = errors.object(body, "")?;
        let email = errors.patch_required(&obj, "email");
        let full_name = errors.patch_required(&obj, "full_name");
        let roles = errors.patch_required(&obj, "roles");
        let active = errors.patch_required(&obj, "active");
        let active_until = errors.patch(&obj, "active_until");
        Some(StaffPatch {
            email: email?,
            full_name: full_name?,
            roles: roles?,
            active: active?,
            active_until: active_until?,
        })
    }
}

/// `POST /staff/{id}/reset-password`.
#[derive(Debug)]
pub struct ResetPassword {
    pub initial_password: Password,
}

impl FromBody for ResetPassword {
    fn from_body(body: &Value, errors: &mut FieldErrors) -> Option<Self> {
        let obj = errors.object(body, "")?;
        let initial_password = errors.required(&obj, "initial_password");
        Some(ResetPassword {
            initial_password: initial_password?,
        })
    }
}

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
