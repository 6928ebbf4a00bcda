//! Participants: the stored row, the API shapes, and the request bodies with their rules
//! (api.md §5, §13.4).

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::pesel::{Pesel, Sex as PeselSex};
use crate::db::schema::participants;
use crate::http::body::{
    FieldErrors, FieldProblem, FreeText, FromBody, FromField, Label, Name, Obj, Patch,
};
use crate::staff::model::Email;

macro_rules! closed_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant,)+
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

        impl $crate::http::body::SerdeField for $name {
            const EXPECTED: &'static str = concat!("one of", $(" `", $text, "`"),+);
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

/// A phone number: `+` and 8–15 digits once spaces and dashes are removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromField for Phone {
    fn from_field(value: &Value) -> Result<Self, FieldProblem> {
        let s = crate::http::body::string_field(value)?;
        let compact: String = s.chars().filter(|c| *c != ' ' && *c != '-').collect();
        let digits = compact.strip_prefix('+').unwrap_or("");
        if (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Phone(compact))
        } else {
            Err(FieldProblem::new(
                "format",
                "expected + and 8–15 digits, e.g. +48 600 100 200",
            ))
        }
    }
}

/// A Polish postal code `NN-NNN`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostalCode(pub String);

impl FromField for PostalCode {
    fn from_field(value: &Value) -> Result<Self, FieldProblem> {
        let s = crate::http::body::string_field(value)?;
        let ok = s.len() == 6
            && s.bytes().enumerate().all(|(i, b)| {
                if i == 2 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            });
        if ok {
            Ok(PostalCode(s.to_owned()))
        } else {
            Err(FieldProblem::new("format", "expected a postal code NN-NNN"))
        }
    }
}

/// An ISO 3166-1 alpha-2 country code, upper case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountryCode(pub String);

impl FromField for CountryCode {
    fn from_field(value: &Value) -> Result<Self, FieldProblem> {
        let s = crate::http::body::string_field(value)?;
        if s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(CountryCode(s.to_owned()))
        } else {
            Err(FieldProblem::new(
                "format",
                "expected an ISO 3166-1 alpha-2 code such as UA",
            ))
        }
    }
}

/// A date that may not lie after `today` (referrals, evidence, decisions).
pub fn not_future(
    errors: &mut FieldErrors,
    pointer: &str,
    date: Option<NaiveDate>,
    today: NaiveDate,
) {
    if let Some(d) = date {
        if d > today {
            errors.push(pointer, "future", "must not be in the future");
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
// Request bodies

pub struct IdDocumentInput {
    pub kind: IdDocumentKind,
    pub number: Label,
    pub issuing_country: CountryCode,
}

pub struct AddressInput {
    pub street: Option<Label>,
    pub postal_code: Option<PostalCode>,
    pub city: Option<Name>,
}

pub struct LegalRepInput {
    pub full_name: Name,
    pub relation: Label,
    pub phone: Option<Phone>,
}

pub struct ReferralInput {
    pub source: ReferralSource,
    pub reference: Option<Label>,
    pub referred_on: NaiveDate,
}

pub struct RiskGroupInput {
    pub code: String,
    pub evidence: FreeText,
    pub evidence_date: Option<NaiveDate>,
}

pub struct CareTeamInput {
    pub staff_id: String,
    pub lead: bool,
}

fn read_object<T>(
    errors: &mut FieldErrors,
    obj: &Obj<'_>,
    key: &str,
    read: impl FnOnce(&mut FieldErrors, &Obj<'_>) -> Option<T>,
) -> Option<Option<T>> {
    match obj.get(key) {
        None | Some(Value::Null) => Some(None),
        Some(v) => {
            let inner = errors.object(v, &obj.child(key))?;
            read(errors, &inner).map(Some)
        }
    }
}

fn read_id_document(errors: &mut FieldErrors, o: &Obj<'_>) -> Option<IdDocumentInput> {
    let kind = errors.required(o, "kind");
    let number = errors.required(o, "number");
    let issuing_country = errors.required(o, "issuing_country");
    Some(IdDocumentInput {
        kind: kind?,
        number: number?,
        issuing_country: issuing_country?,
    })
}

fn read_address(errors: &mut FieldErrors, o: &Obj<'_>) -> Option<AddressInput> {
    let street = errors.optional(o, "street");
    let postal_code = errors.optional(o, "postal_code");
    let city = errors.optional(o, "city");
    Some(AddressInput {
        street: street?,
        postal_code: postal_code?,
        city: city?,
    })
}

fn read_legal_rep(errors: &mut FieldErrors, o: &Obj<'_>) -> Option<LegalRepInput> {
    let full_name = errors.required(o, "full_name");
    let relation = errors.required(o, "relation");
    let phone = errors.optional(o, "phone");
    Some(LegalRepInput {
        full_name: full_name?,
        relation: relation?,
        phone: phone?,
    })
}

pub fn read_referral(errors: &mut FieldErrors, o: &Obj<'_>) -> Option<ReferralInput> {
    let source = errors.required(o, "source");
    let reference = errors.optional(o, "reference");
    let referred_on: Option<NaiveDate> = errors.required(o, "referred_on");
    errors.not_future(&o.child("referred_on"), referred_on);
    Some(ReferralInput {
        source: source?,
        reference: reference?,
        referred_on: referred_on?,
    })
}

/// Reads an array of objects at `pointer`, each with `read`; `None` if any item failed.
pub fn read_list<T>(
    errors: &mut FieldErrors,
    value: &Value,
    pointer: &str,
    mut read: impl FnMut(&mut FieldErrors, &Obj<'_>) -> Option<T>,
) -> Option<Vec<T>> {
    let items = errors.array(value, pointer)?;
    let mut out = Vec::with_capacity(items.len());
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        match errors
            .object(item, &format!("{pointer}/{i}"))
            .and_then(|o| read(errors, &o))
        {
            Some(v) => out.push(v),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

pub fn read_risk_group(errors: &mut FieldErrors, o: &Obj<'_>) -> Option<RiskGroupInput> {
    let code: Option<String> = errors.required(o, "code");
    let evidence = errors.required(o, "evidence");
    let evidence_date = errors.optional(o, "evidence_date");
    Some(RiskGroupInput {
        code: code?,
        evidence: evidence?,
        evidence_date: evidence_date?,
    })
}

pub fn read_care_team_entry(errors: &mut FieldErrors, o: &Obj<'_>) -> Option<CareTeamInput> {
    let staff_id: Option<uuid::Uuid> = errors.required(o, "staff_id");
    let lead: Option<Option<bool>> = errors.optional(o, "lead");
    Some(CareTeamInput {
        staff_id: staff_id?.to_string(),
        lead: lead?.unwrap_or(false),
    })
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

/// Birth date and sex: derived from a valid PESEL when omitted and checked against it when
/// given; without a PESEL an identity document, the birth date and the sex are required.
/// `birth_date`/`sex` are `None` when their value was invalid (already reported), `Some(None)`
/// when absent.
fn identity_rules(
    errors: &mut FieldErrors,
    obj: &Obj<'_>,
    pesel: Option<&Option<Pesel>>,
    has_document: bool,
    birth_date: Option<Option<NaiveDate>>,
    sex: Option<Option<Sex>>,
) -> (Option<NaiveDate>, Option<Sex>) {
    let pesel_given = obj.get("pesel").is_some_and(|v| !v.is_null());
    match (pesel, pesel_given) {
        (Some(Some(p)), _) => {
            if birth_date.flatten().is_some_and(|d| d != p.birth_date()) {
                errors.push(
                    "/birth_date",
                    "pesel_mismatch",
                    "does not match the date encoded in the PESEL",
                );
            }
            if sex.flatten().is_some_and(|s| s != Sex::from(p.sex())) {
                errors.push(
                    "/sex",
                    "pesel_mismatch",
                    "does not match the sex encoded in the PESEL",
                );
            }
            (Some(p.birth_date()), Some(Sex::from(p.sex())))
        }
        // An invalid PESEL is already reported; nothing to derive from it.
        (_, true) => (None, None),
        (_, false) => {
            if !has_document {
                errors.push(
                    "/id_document",
                    "required",
                    "is required when there is no PESEL",
                );
            }
            if birth_date == Some(None) {
                errors.push(
                    "/birth_date",
                    "required",
                    "is required when there is no PESEL",
                );
            }
            if sex == Some(None) {
                errors.push("/sex", "required", "is required when there is no PESEL");
            }
            (birth_date.flatten(), sex.flatten())
        }
    }
}

impl FromBody for NewParticipant {
    fn from_body(body: &Value, errors: &mut FieldErrors) -> Option<Self> {
        let obj = errors.object(body, "")?;
        let first_name = errors.required(&obj, "first_name");
        let last_name = errors.required(&obj, "last_name");
        let pesel: Option<Option<Pesel>> = errors.optional(&obj, "pesel");
        let id_document = read_object(errors, &obj, "id_document", read_id_document);
        let birth_date: Option<Option<NaiveDate>> = errors.optional(&obj, "birth_date");
        let sex: Option<Option<Sex>> = errors.optional(&obj, "sex");
        let phone = errors.optional(&obj, "phone");
        let email = errors.optional(&obj, "email");
        let address = read_object(errors, &obj, "address", read_address);
        let education_level = errors.optional(&obj, "education_level");
        let labour_status_at_entry = errors.optional(&obj, "labour_status_at_entry");
        let disability = errors.optional(&obj, "disability");
        let legal_representative =
            read_object(errors, &obj, "legal_representative", read_legal_rep);
        let referral = match obj.get("referral") {
            None | Some(Value::Null) => {
                errors.push("/referral", "required", "is required");
                None
            }
            Some(v) => errors
                .object(v, "/referral")
                .and_then(|o| read_referral(errors, &o)),
        };
        let risk_groups = match obj.get("risk_groups") {
            None | Some(Value::Null) => Some(Vec::new()),
            Some(v) => read_list(errors, v, "/risk_groups", read_risk_group),
        };
        let care_team = match obj.get("care_team") {
            None | Some(Value::Null) => Some(Vec::new()),
            Some(v) => read_list(errors, v, "/care_team", read_care_team_entry),
        };
        let has_document = obj.get("id_document").is_some_and(|v| !v.is_null());
        let (birth_date, sex) =
            identity_rules(errors, &obj, pesel.as_ref(), has_document, birth_date, sex);
        Some(NewParticipant {
            first_name: first_name?,
            last_name: last_name?,
            pesel: pesel?,
            id_document: id_document?,
            birth_date: birth_date?,
            sex: sex?,
            phone: phone?,
            email: email?,
            address: address?,
            education_level: education_level?,
            labour_status_at_entry: labour_status_at_entry?,
            disability: disability?,
            legal_representative: legal_representative?,
            referral: referral?,
            risk_groups: risk_groups?,
            care_team: care_team?,
        })
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

fn patch_object<T>(
    errors: &mut FieldErrors,
    obj: &Obj<'_>,
    key: &str,
    read: impl FnOnce(&mut FieldErrors, &Obj<'_>) -> Option<T>,
) -> Option<Patch<T>> {
    match obj.get(key) {
        None => Some(Patch::Absent),
        Some(Value::Null) => Some(Patch::Null),
        Some(v) => {
            let inner = errors.object(v, &obj.child(key))?;
            read(errors, &inner).map(Patch::Value)
        }
    }
}

impl FromBody for ParticipantPatch {
    fn from_body(body: &Value, errors: &mut FieldErrors) -> Option<Self> {
        let obj = errors.object(body, "")?;
        let first_name = errors.patch_required(&obj, "first_name");
        let last_name = errors.patch_required(&obj, "last_name");
        let pesel = errors.patch(&obj, "pesel");
        let id_document = patch_object(errors, &obj, "id_document", read_id_document);
        let birth_date = errors.patch_required(&obj, "birth_date");
        let sex = errors.patch_required(&obj, "sex");
        let phone = errors.patch(&obj, "phone");
        let email = errors.patch(&obj, "email");
        let address = patch_object(errors, &obj, "address", read_address);
        let education_level = errors.patch(&obj, "education_level");
        let labour_status_at_entry = errors.patch(&obj, "labour_status_at_entry");
        let disability = errors.patch(&obj, "disability");
        let legal_representative =
            patch_object(errors, &obj, "legal_representative", read_legal_rep);
        Some(ParticipantPatch {
            first_name: first_name?,
            last_name: last_name?,
            pesel: pesel?,
            id_document: id_document?,
            birth_date: birth_date?,
            sex: sex?,
            phone: phone?,
            email: email?,
            address: address?,
            education_level: education_level?,
            labour_status_at_entry: labour_status_at_entry?,
            disability: disability?,
            legal_representative: legal_representative?,
        })
    }
}
