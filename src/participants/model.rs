//! Participants: the stored row, the API shapes, and the request bodies with their rules
//! (api.md §5, §13.4).

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::{Validate, ValidationError};

use super::pesel::{Pesel, PeselError, Sex as PeselSex};
use crate::db::schema::participants;
use crate::http::rules::{
    date, forbid_null, not_future, rule, rule_at, rules_at, taken_out, today, valid, FreeText,
    Label, Name, Obj, Patch, RequestBody, Rule,
};
use crate::staff::model::Email;

macro_rules! closed_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        pub enum $name {
            $(#[serde(rename = $text)] #[schema(rename = $text)] $variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            pub fn parse(s: &str) -> Option<$name> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = ();
            fn from_str(s: &str) -> Result<Self, ()> {
                $name::parse(s).ok_or(())
            }
        }
    };
}
/// For other modules' closed sets (consent purposes, exit reasons, …).
#[allow(unused_imports)]
pub(crate) use closed_enum;

closed_enum!(
    /// `referred → qualified | rejected`, `qualified → in_programme`, `in_programme → exited`,
    /// `exited | rejected → referred`, any but `in_programme` → `anonymised`.
    Status {
        Referred => "referred",
        Qualified => "qualified",
        Rejected => "rejected",
        InProgramme => "in_programme",
        Exited => "exited",
        Anonymised => "anonymised",
    }
);
closed_enum!(Sex { Female => "female", Male => "male" });
closed_enum!(IdDocumentKind { Passport => "passport", ResidenceCard => "residence_card", IdCard => "id_card", Other => "other" });
closed_enum!(EducationLevel { Isced02 => "isced_0_2", Isced34 => "isced_3_4", Isced58 => "isced_5_8" });
closed_enum!(LabourStatus {
    Unemployed => "unemployed",
    LongTermUnemployed => "long_term_unemployed",
    Inactive => "inactive",
    Employed => "employed",
});
closed_enum!(ReferralSource {
    Ops => "ops",
    Pup => "pup",
    Pcpr => "pcpr",
    SelfReferral => "self",
    Ngo => "ngo",
    Court => "court",
    Other => "other",
});

impl From<PeselSex> for Sex {
    fn from(s: PeselSex) -> Sex {
        match s {
            PeselSex::Female => Sex::Female,
            PeselSex::Male => Sex::Male,
        }
    }
}

/// A phone number: `+` and 8–15 digits once spaces and dashes are removed (stored compact).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Phone(String);

impl Phone {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Phone {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Phone(
            s.chars().filter(|c| *c != ' ' && *c != '-').collect(),
        ))
    }
}

impl Rule for Phone {
    fn check(&self) -> Result<(), ValidationError> {
        let digits = self.0.strip_prefix('+').unwrap_or("");
        if (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
            Ok(())
        } else {
            Err(rule(
                "format",
                "expected + and 8–15 digits, e.g. +48 600 100 200",
            ))
        }
    }
}

/// A Polish postal code `NN-NNN`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PostalCode(pub String);

impl Rule for PostalCode {
    fn check(&self) -> Result<(), ValidationError> {
        let ok = self.0.len() == 6
            && self.0.bytes().enumerate().all(|(i, b)| {
                if i == 2 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            });
        if ok {
            Ok(())
        } else {
            Err(rule("format", "expected a postal code NN-NNN"))
        }
    }
}

/// An ISO 3166-1 alpha-2 country code, upper case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CountryCode(pub String);

impl Rule for CountryCode {
    fn check(&self) -> Result<(), ValidationError> {
        if self.0.len() == 2 && self.0.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(())
        } else {
            Err(rule(
                "format",
                "expected an ISO 3166-1 alpha-2 code such as UA",
            ))
        }
    }
}

/// The stored row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = participants, treat_none_as_null = true)]
pub struct ParticipantRow {
    pub id: String,
    pub status: String,
    pub first_name: String,
    pub last_name: String,
    pub first_name_key: String,
    pub last_name_key: String,
    pub first_last_key: String,
    pub last_first_key: String,
    pub pesel: Option<String>,
    pub id_document_kind: Option<String>,
    pub id_document_number: Option<String>,
    pub id_document_country: Option<String>,
    pub birth_date: NaiveDate,
    pub sex: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address_street: Option<String>,
    pub address_postal_code: Option<String>,
    pub address_city: Option<String>,
    pub education_level: Option<String>,
    pub labour_status_at_entry: Option<String>,
    pub disability: Option<bool>,
    pub legal_rep_full_name: Option<String>,
    pub legal_rep_relation: Option<String>,
    pub legal_rep_phone: Option<String>,
    pub referral_source: String,
    pub referral_reference: Option<String>,
    pub referred_on: NaiveDate,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl ParticipantRow {
    /// Sets the names and their folded search keys together.
    pub fn set_names(&mut self, first: &str, last: &str) {
        use crate::text::fold;
        self.first_name = first.to_owned();
        self.last_name = last.to_owned();
        self.first_name_key = fold(first);
        self.last_name_key = fold(last);
        self.first_last_key = format!("{} {}", self.first_name_key, self.last_name_key);
        self.last_first_key = format!("{} {}", self.last_name_key, self.first_name_key);
    }
}

/// Whole years between `birth` and `today`.
pub fn age_on(birth: NaiveDate, today: NaiveDate) -> i32 {
    let mut age = today.year() - birth.year();
    if (today.month(), today.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IdDocument {
    pub kind: IdDocumentKind,
    pub number: String,
    pub issuing_country: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Address {
    pub street: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LegalRepresentative {
    pub full_name: String,
    pub relation: String,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Referral {
    pub source: ReferralSource,
    pub reference: Option<String>,
    pub referred_on: NaiveDate,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RiskGroupEntry {
    pub code: String,
    pub evidence: String,
    pub evidence_date: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CareTeamEntry {
    pub staff_id: String,
    pub lead: bool,
}

/// The open programme, in participant records and list rows.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProgrammeSummary {
    pub id: String,
    pub start_date: NaiveDate,
    pub planned_end_date: NaiveDate,
}

/// A participant's full record. Auditors get it without contact details (`phone`, `email`,
/// `address`, `legal_representative` are `null`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Participant {
    pub id: String,
    pub status: Status,
    pub first_name: String,
    pub last_name: String,
    pub pesel: Option<String>,
    pub id_document: Option<IdDocument>,
    pub birth_date: NaiveDate,
    pub age: i32,
    pub sex: Sex,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: Option<Address>,
    pub education_level: Option<EducationLevel>,
    pub labour_status_at_entry: Option<LabourStatus>,
    pub disability: Option<bool>,
    pub legal_representative: Option<LegalRepresentative>,
    pub referral: Referral,
    pub risk_groups: Vec<RiskGroupEntry>,
    pub care_team: Vec<CareTeamEntry>,
    pub current_programme: Option<ProgrammeSummary>,
    /// When the record may be anonymised (api.md §13.4): 31 December of the year of the last
    /// programme exit, qualification decision or referral plus the unit's `retention_years`,
    /// never before its `project_retention_until`; `null` while a programme is open.
    pub retention_until: Option<NaiveDate>,
    pub version: i64,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "crate::http::serialize_instant")]
    pub created_at: NaiveDateTime,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "crate::http::serialize_instant")]
    pub updated_at: NaiveDateTime,
}

/// A list row: a summary without contact details (api.md §13.4).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ParticipantListRow {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub birth_date: NaiveDate,
    pub sex: Sex,
    pub status: Status,
    pub risk_groups: Vec<String>,
    pub lead_staff_id: Option<String>,
    pub current_programme: Option<ProgrammeSummary>,
    pub version: i64,
}

// ------------------------------------------------------------------------------------------
// Request bodies: each `…Wire` is what serde reads and `validator` checks; the input beside it
// is what the service gets once every rule passed.

pub struct IdDocumentInput {
    pub kind: IdDocumentKind,
    pub number: Label,
    pub issuing_country: CountryCode,
}

#[derive(Deserialize, Validate)]
pub struct IdDocumentWire {
    #[validate(required)]
    kind: Option<IdDocumentKind>,
    #[validate(required, custom(function = "valid"))]
    number: Option<Label>,
    #[validate(required, custom(function = "valid"))]
    issuing_country: Option<CountryCode>,
}

impl IdDocumentWire {
    fn input(self) -> Option<IdDocumentInput> {
        Some(IdDocumentInput {
            kind: self.kind?,
            number: self.number?,
            issuing_country: self.issuing_country?,
        })
    }
}

#[derive(Deserialize, Validate)]
pub struct AddressInput {
    #[validate(custom(function = "valid"))]
    pub street: Option<Label>,
    #[validate(custom(function = "valid"))]
    pub postal_code: Option<PostalCode>,
    #[validate(custom(function = "valid"))]
    pub city: Option<Name>,
}

pub struct LegalRepInput {
    pub full_name: Name,
    pub relation: Label,
    pub phone: Option<Phone>,
}

#[derive(Deserialize, Validate)]
pub struct LegalRepWire {
    #[validate(required, custom(function = "valid"))]
    full_name: Option<Name>,
    #[validate(required, custom(function = "valid"))]
    relation: Option<Label>,
    #[validate(custom(function = "valid"))]
    phone: Option<Phone>,
}

impl LegalRepWire {
    fn input(self) -> Option<LegalRepInput> {
        Some(LegalRepInput {
            full_name: self.full_name?,
            relation: self.relation?,
            phone: self.phone,
        })
    }
}

pub struct ReferralInput {
    pub source: ReferralSource,
    pub reference: Option<Label>,
    pub referred_on: NaiveDate,
}

#[derive(Deserialize, Serialize, Validate)]
pub struct ReferralWire {
    #[validate(required)]
    source: Option<ReferralSource>,
    #[validate(custom(function = "valid"))]
    reference: Option<Label>,
    #[serde(default, deserialize_with = "date::opt")]
    #[validate(required, custom(function = "not_future"))]
    referred_on: Option<NaiveDate>,
}

impl RequestBody for ReferralInput {
    type Wire = ReferralWire;
    fn from_wire(w: ReferralWire) -> Option<Self> {
        Some(ReferralInput {
            source: w.source?,
            reference: w.reference,
            referred_on: w.referred_on?,
        })
    }
}

pub struct RiskGroupInput {
    pub code: String,
    pub evidence: FreeText,
    pub evidence_date: Option<NaiveDate>,
}

#[derive(Deserialize, Serialize, Validate)]
pub struct RiskGroupWire {
    #[validate(required, length(max = 50, code = "too_long"))]
    code: Option<String>,
    #[validate(required, custom(function = "valid"))]
    evidence: Option<FreeText>,
    #[serde(default, deserialize_with = "date::opt")]
    #[validate(custom(function = "not_future"))]
    evidence_date: Option<NaiveDate>,
}

impl RequestBody for RiskGroupInput {
    type Wire = RiskGroupWire;
    fn from_wire(w: RiskGroupWire) -> Option<Self> {
        Some(RiskGroupInput {
            code: w.code?,
            evidence: w.evidence?,
            evidence_date: w.evidence_date,
        })
    }
}

pub struct CareTeamInput {
    pub staff_id: String,
    pub lead: bool,
}

#[derive(Deserialize, Serialize, Validate)]
pub struct CareTeamWire {
    #[validate(required)]
    staff_id: Option<uuid::Uuid>,
    lead: Option<bool>,
}

impl RequestBody for CareTeamInput {
    type Wire = CareTeamWire;
    fn from_wire(w: CareTeamWire) -> Option<Self> {
        Some(CareTeamInput {
            staff_id: w.staff_id?.to_string(),
            lead: w.lead.unwrap_or(false),
        })
    }
}

/// Converts every item of a validated list (`None` only if a rule let a required field pass).
pub fn inputs<T: RequestBody>(items: Vec<Obj<T::Wire>>) -> Option<Vec<T>> {
    items.into_iter().map(|item| T::from_wire(item.0)).collect()
}

/// A PESEL as sent: a string whose [`Rule`] is [`Pesel::parse`]; the service gets the [`Pesel`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PeselText(String);

impl PeselText {
    fn pesel(&self) -> Option<Pesel> {
        Pesel::parse(&self.0).ok()
    }
}

impl Rule for PeselText {
    fn check(&self) -> Result<(), ValidationError> {
        Pesel::parse(&self.0).map(drop).map_err(|e| match e {
            PeselError::Format => rule("format", "a PESEL has exactly 11 digits"),
            PeselError::Checksum => rule("checksum", "the PESEL check digit does not match"),
            PeselError::Date => rule("date", "the PESEL encodes a date that does not exist"),
        })
    }
}

/// `POST /participants`.
pub struct NewParticipant {
    pub first_name: Name,
    pub last_name: Name,
    pub pesel: Option<Pesel>,
    pub id_document: Option<IdDocumentInput>,
    pub birth_date: NaiveDate,
    pub sex: Sex,
    pub phone: Option<Phone>,
    pub email: Option<Email>,
    pub address: Option<AddressInput>,
    pub education_level: Option<EducationLevel>,
    pub labour_status_at_entry: Option<LabourStatus>,
    pub disability: Option<bool>,
    pub legal_representative: Option<LegalRepInput>,
    pub referral: ReferralInput,
    pub risk_groups: Vec<RiskGroupInput>,
    pub care_team: Vec<CareTeamInput>,
}

/// At most this many risk groups and care-team members in one body.
pub const MAX_RISK_GROUPS: u64 = 20;
pub const MAX_CARE_TEAM: u64 = 30;

#[derive(Deserialize, Validate)]
#[validate(schema(function = "identity_rules", skip_on_field_errors = false))]
pub struct NewParticipantWire {
    #[validate(required, custom(function = "valid"))]
    first_name: Option<Name>,
    #[validate(required, custom(function = "valid"))]
    last_name: Option<Name>,
    #[validate(custom(function = "valid"))]
    pesel: Option<PeselText>,
    #[validate(nested)]
    id_document: Option<Obj<IdDocumentWire>>,
    #[serde(default, deserialize_with = "date::opt")]
    #[validate(custom(function = "not_future"))]
    birth_date: Option<NaiveDate>,
    sex: Option<Sex>,
    #[validate(custom(function = "valid"))]
    phone: Option<Phone>,
    #[validate(custom(function = "valid"))]
    email: Option<Email>,
    #[validate(nested)]
    address: Option<Obj<AddressInput>>,
    education_level: Option<EducationLevel>,
    labour_status_at_entry: Option<LabourStatus>,
    disability: Option<bool>,
    #[validate(nested)]
    legal_representative: Option<Obj<LegalRepWire>>,
    #[validate(required, nested)]
    referral: Option<Obj<ReferralWire>>,
    #[validate(nested, length(max = "MAX_RISK_GROUPS", code = "count"))]
    risk_groups: Option<Vec<Obj<RiskGroupWire>>>,
    #[validate(nested, length(max = "MAX_CARE_TEAM", code = "count"))]
    care_team: Option<Vec<Obj<CareTeamWire>>>,
}

/// Birth date and sex: derived from a valid PESEL when omitted and checked against it when
/// given; without a PESEL an identity document, the birth date and the sex are required.
fn identity_rules(w: &NewParticipantWire) -> Result<(), ValidationError> {
    let mut failures = Vec::new();
    match &w.pesel {
        Some(text) => {
            // An invalid PESEL has its own error; there is nothing to compare with.
            if let Some(p) = text.pesel() {
                if today().is_some_and(|today| p.birth_date() > today) {
                    failures.push(rule_at(
                        "pesel",
                        "future",
                        "encodes a birth date in the future",
                    ));
                }
                if w.birth_date.is_some_and(|d| d != p.birth_date()) {
                    failures.push(rule_at(
                        "birth_date",
                        "pesel_mismatch",
                        "does not match the date encoded in the PESEL",
                    ));
                }
                if w.sex.is_some_and(|s| s != Sex::from(p.sex())) {
                    failures.push(rule_at(
                        "sex",
                        "pesel_mismatch",
                        "does not match the sex encoded in the PESEL",
                    ));
                }
            }
        }
        // A PESEL of the wrong JSON type has its own error; it is not missing.
        None if taken_out("/pesel") => {}
        None => {
            let without_pesel =
                |field| rule_at(field, "required", "is required when there is no PESEL");
            if w.id_document.is_none() {
                failures.push(without_pesel("id_document"));
            }
            if w.birth_date.is_none() {
                failures.push(without_pesel("birth_date"));
            }
            if w.sex.is_none() {
                failures.push(without_pesel("sex"));
            }
        }
    }
    rules_at(failures)
}

impl RequestBody for NewParticipant {
    type Wire = NewParticipantWire;
    fn from_wire(w: NewParticipantWire) -> Option<Self> {
        let pesel = match &w.pesel {
            Some(text) => Some(text.pesel()?),
            None => None,
        };
        Some(NewParticipant {
            birth_date: pesel.as_ref().map(Pesel::birth_date).or(w.birth_date)?,
            sex: pesel.as_ref().map(|p| Sex::from(p.sex())).or(w.sex)?,
            pesel,
            first_name: w.first_name?,
            last_name: w.last_name?,
            id_document: w.id_document.map(|d| d.0.input()).transpose_none()?,
            phone: w.phone,
            email: w.email,
            address: w.address.map(|a| a.0),
            education_level: w.education_level,
            labour_status_at_entry: w.labour_status_at_entry,
            disability: w.disability,
            legal_representative: w
                .legal_representative
                .map(|l| l.0.input())
                .transpose_none()?,
            referral: ReferralInput::from_wire(w.referral?.0)?,
            risk_groups: inputs(w.risk_groups.unwrap_or_default())?,
            care_team: inputs(w.care_team.unwrap_or_default())?,
        })
    }
}

/// `Some(None)` for an absent value, `None` when a present one failed to convert.
trait TransposeNone<T> {
    fn transpose_none(self) -> Option<Option<T>>;
}

impl<T> TransposeNone<T> for Option<Option<T>> {
    fn transpose_none(self) -> Option<Option<T>> {
        match self {
            None => Some(None),
            Some(inner) => inner.map(Some),
        }
    }
}

/// `PATCH /participants/{id}`: personal fields; absent leaves a field, `null` clears it.
#[derive(Default)]
pub struct ParticipantPatch {
    pub first_name: Option<Name>,
    pub last_name: Option<Name>,
    pub pesel: Patch<Pesel>,
    pub id_document: Patch<IdDocumentInput>,
    pub birth_date: Option<NaiveDate>,
    pub sex: Option<Sex>,
    pub phone: Patch<Phone>,
    pub email: Patch<Email>,
    pub address: Patch<AddressInput>,
    pub education_level: Patch<EducationLevel>,
    pub labour_status_at_entry: Patch<LabourStatus>,
    pub disability: Patch<bool>,
    pub legal_representative: Patch<LegalRepInput>,
}

#[derive(Deserialize, Validate)]
pub struct ParticipantPatchWire {
    #[serde(default, deserialize_with = "forbid_null")]
    #[validate(custom(function = "valid"))]
    first_name: Option<Name>,
    #[serde(default, deserialize_with = "forbid_null")]
    #[validate(custom(function = "valid"))]
    last_name: Option<Name>,
    #[serde(default)]
    #[validate(custom(function = "valid"))]
    pesel: Patch<PeselText>,
    #[serde(default)]
    #[validate(nested)]
    id_document: Patch<Obj<IdDocumentWire>>,
    #[serde(default, deserialize_with = "date::kept")]
    #[validate(custom(function = "not_future"))]
    birth_date: Option<NaiveDate>,
    #[serde(default, deserialize_with = "forbid_null")]
    sex: Option<Sex>,
    #[serde(default)]
    #[validate(custom(function = "valid"))]
    phone: Patch<Phone>,
    #[serde(default)]
    #[validate(custom(function = "valid"))]
    email: Patch<Email>,
    #[serde(default)]
    #[validate(nested)]
    address: Patch<Obj<AddressInput>>,
    #[serde(default)]
    education_level: Patch<EducationLevel>,
    #[serde(default)]
    labour_status_at_entry: Patch<LabourStatus>,
    #[serde(default)]
    disability: Patch<bool>,
    #[serde(default)]
    #[validate(nested)]
    legal_representative: Patch<Obj<LegalRepWire>>,
}

impl RequestBody for ParticipantPatch {
    type Wire = ParticipantPatchWire;
    fn from_wire(w: ParticipantPatchWire) -> Option<Self> {
        Some(ParticipantPatch {
            first_name: w.first_name,
            last_name: w.last_name,
            pesel: w.pesel.try_map(|p| p.pesel())?,
            id_document: w.id_document.try_map(|d| d.0.input())?,
            birth_date: w.birth_date,
            sex: w.sex,
            phone: w.phone,
            email: w.email,
            address: w.address.try_map(|a| Some(a.0))?,
            education_level: w.education_level,
            labour_status_at_entry: w.labour_status_at_entry,
            disability: w.disability,
            legal_representative: w.legal_representative.try_map(|l| l.0.input())?,
        })
    }
}
