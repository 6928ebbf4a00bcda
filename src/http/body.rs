//! Two-step body parsing, so a client learns about every bad field at once.
//!
//! serde stops at the first error, so a body is first parsed into a `serde_json::Value` (400 only
//! if that fails), then read field by field by the request type's [`FromBody`] impl, which records
//! each failure with its JSON Pointer; cross-field rules run after that. All errors go out in one 422.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest};
use chrono::NaiveDate;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::problem::{AppError, FieldError};

/// Request bodies larger than this are refused with 413.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Why one field was refused: a stable code and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub code: &'static str,
    pub message: String,
}

impl FieldProblem {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        FieldProblem {
            code,
            message: message.into(),
        }
    }
}

/// A value that can be read out of one JSON field, with its own rules.
pub trait FromField: Sized {
    fn from_field(value: &Value) -> Result<Self, FieldProblem>;
}

/// Types read through serde as they are (numbers, booleans, closed enums).
/// `EXPECTED` completes the sentence "expected …" in the error message.
pub trait SerdeField: DeserializeOwned {
    const EXPECTED: &'static str;
}

impl<T: SerdeField> FromField for T {
    fn from_field(value: &Value) -> Result<Self, FieldProblem> {
        T::deserialize(value).map_err(|_| {
            let code = match value {
                Value::String(_) if T::EXPECTED.starts_with("one of") => "enum",
                _ => "type",
            };
            FieldProblem::new(code, format!("expected {}", T::EXPECTED))
        })
    }
}

impl SerdeField for bool {
    const EXPECTED: &'static str = "true or false";
}
impl SerdeField for i64 {
    const EXPECTED: &'static str = "a whole number";
}
impl SerdeField for i32 {
    const EXPECTED: &'static str = "a whole number";
}
impl SerdeField for u32 {
    const EXPECTED: &'static str = "a whole number ≥ 0";
}
impl SerdeField for String {
    const EXPECTED: &'static str = "a string";
}
impl SerdeField for uuid::Uuid {
    const EXPECTED: &'static str = "a UUID";
}

/// Calendar dates are `YYYY-MM-DD` and must exist (`2026-02-30` does not).
impl FromField for NaiveDate {
    fn from_field(value: &Value) -> Result<Self, FieldProblem> {
        let s = value
            .as_str()
            .ok_or_else(|| FieldProblem::new("type", "expected a date as YYYY-MM-DD"))?;
        let well_formed = s.len() == 10
            && s.bytes().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            });
        if !well_formed {
            return Err(FieldProblem::new("format", "expected a date as YYYY-MM-DD"));
        }
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|_| FieldProblem::new("date", format!("{s} is not a date in the calendar")))
    }
}

/// The string in a field, or the `type` problem every string field reports.
pub fn string_field(value: &Value) -> Result<&str, FieldProblem> {
    value
        .as_str()
        .ok_or_else(|| FieldProblem::new("type", "expected a string"))
}

pub use super::rules::{FreeText, Label, Name, Patch};

/// The bridge for value types that moved to serde + [`Rule`](super::rules::Rule) while older
/// readers still ask for them field by field.
pub fn legacy_field<T: DeserializeOwned + super::rules::Rule>(
    value: &Value,
) -> Result<T, FieldProblem> {
    let (parsed, errors, _) = super::rules::read_shape::<T>(value);
    match (parsed, errors.into_iter().next()) {
        (_, Some(e)) => Err(FieldProblem::new(
            KNOWN_CODES
                .iter()
                .find(|c| **c == e.code)
                .copied()
                .unwrap_or("format"),
            e.message,
        )),
        (Some(v), None) => v.check().map(|_| v).map_err(|e| {
            FieldProblem::new(
                KNOWN_CODES
                    .iter()
                    .find(|c| **c == e.code)
                    .copied()
                    .unwrap_or("format"),
                e.message.map(|m| m.to_string()).unwrap_or_default(),
            )
        }),
        (None, None) => Err(FieldProblem::new("type", "unexpected value")),
    }
}

const KNOWN_CODES: &[&str] = &[
    "type",
    "format",
    "date",
    "required",
    "too_long",
    "blank",
    "control_character",
    "checksum",
    "email",
    "future",
];

macro_rules! legacy_fields {
    ($($t:ty),+) => {$(
        impl $crate::http::body::FromField for $t {
            fn from_field(value: &serde_json::Value) -> Result<Self, $crate::http::body::FieldProblem> {
                $crate::http::body::legacy_field(value)
            }
        }
    )+};
}
pub(crate) use legacy_fields;
legacy_fields!(Name, Label, FreeText);

impl<T: super::rules::RequestBody> FromBody for T {
    fn from_body(body: &Value, errors: &mut FieldErrors) -> Option<Self> {
        let today = errors.today.unwrap_or(NaiveDate::MAX);
        match super::rules::read_body::<T>(body, today) {
            Ok(v) => Some(v),
            Err(AppError::Validation(list)) => {
                errors.errors.extend(list);
                None
            }
            Err(_) => None,
        }
    }
}

/// Reads fields out of a JSON body and collects every failure with its JSON Pointer.
#[derive(Debug, Default)]
pub struct FieldErrors {
    errors: Vec<FieldError>,
    /// The unit's calendar date, for "not in the future" rules checked while reading.
    today: Option<NaiveDate>,
}

impl FieldErrors {
    pub fn new() -> Self {
        FieldErrors {
            errors: Vec::new(),
            today: None,
        }
    }

    /// A reader that also knows today's date, so date rules land in the same 422.
    pub fn with_today(today: NaiveDate) -> Self {
        FieldErrors {
            errors: Vec::new(),
            today: Some(today),
        }
    }

    /// Records `future` at `pointer` when `date` lies after today (when today is known).
    pub fn not_future(&mut self, pointer: &str, date: Option<NaiveDate>) {
        if let (Some(d), Some(today)) = (date, self.today) {
            if d > today {
                self.push(pointer, "future", "must not be in the future");
            }
        }
    }

    pub fn push(&mut self, pointer: impl Into<String>, code: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(pointer, code, message));
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// The object at `pointer`, or an error recorded against it.
    pub fn object<'v>(&mut self, value: &'v Value, pointer: &str) -> Option<Obj<'v>> {
        match value.as_object() {
            Some(map) => Some(Obj {
                map,
                pointer: pointer.to_owned(),
            }),
            None => {
                self.push(pointer_or_root(pointer), "type", "expected an object");
                None
            }
        }
    }

    /// The array at `pointer`, or an error recorded against it.
    pub fn array<'v>(&mut self, value: &'v Value, pointer: &str) -> Option<&'v Vec<Value>> {
        match value.as_array() {
            Some(items) => Some(items),
            None => {
                self.push(pointer_or_root(pointer), "type", "expected an array");
                None
            }
        }
    }

    /// A required field: missing or `null` is an error.
    pub fn required<T: FromField>(&mut self, obj: &Obj<'_>, key: &str) -> Option<T> {
        match obj.map.get(key) {
            None | Some(Value::Null) => {
                self.push(obj.child(key), "required", "is required");
                None
            }
            Some(v) => self.parse(v, &obj.child(key)),
        }
    }

    /// An optional field: missing or `null` is `Some(None)`; a bad value is recorded and `None`.
    pub fn optional<T: FromField>(&mut self, obj: &Obj<'_>, key: &str) -> Option<Option<T>> {
        match obj.map.get(key) {
            None | Some(Value::Null) => Some(None),
            Some(v) => self.parse(v, &obj.child(key)).map(Some),
        }
    }

    /// A PATCH field that cannot be cleared: absent is `Some(None)`, `null` is an error.
    pub fn patch_required<T: FromField>(&mut self, obj: &Obj<'_>, key: &str) -> Option<Option<T>> {
        match obj.map.get(key) {
            None => Some(None),
            Some(Value::Null) => {
                self.push(obj.child(key), "required", "cannot be cleared");
                None
            }
            Some(v) => self.parse(v, &obj.child(key)).map(Some),
        }
    }

    /// A PATCH field, keeping absent and `null` apart.
    pub fn patch<T: FromField>(&mut self, obj: &Obj<'_>, key: &str) -> Option<Patch<T>> {
        match obj.map.get(key) {
            None => Some(Patch::Absent),
            Some(Value::Null) => Some(Patch::Null),
            Some(v) => self.parse(v, &obj.child(key)).map(Patch::Value),
        }
    }

    /// Reads one value at `pointer` (array items, nested values).
    pub fn parse<T: FromField>(&mut self, value: &Value, pointer: &str) -> Option<T> {
        match T::from_field(value) {
            Ok(v) => Some(v),
            Err(p) => {
                self.push(pointer, p.code, p.message);
                None
            }
        }
    }

    /// `Ok(value)` when nothing failed, else one 422 listing every failure.
    pub fn finish<T>(self, value: Option<T>) -> Result<T, AppError> {
        match (self.errors.is_empty(), value) {
            (true, Some(v)) => Ok(v),
            (true, None) => Err(AppError::Internal(
                "body reader produced no value and no error".into(),
            )),
            (false, _) => Err(AppError::Validation(self.errors)),
        }
    }

    pub fn into_vec(self) -> Vec<FieldError> {
        self.errors
    }
}

fn pointer_or_root(pointer: &str) -> String {
    if pointer.is_empty() {
        "/".to_owned()
    } else {
        pointer.to_owned()
    }
}

/// A JSON object being read, with its JSON Pointer (empty for the body itself).
pub struct Obj<'v> {
    map: &'v Map<String, Value>,
    pointer: String,
}

impl<'v> Obj<'v> {
    /// The JSON Pointer of `key` inside this object (RFC 6901 escaping).
    pub fn child(&self, key: &str) -> String {
        format!(
            "{}/{}",
            self.pointer,
            key.replace('~', "~0").replace('/', "~1")
        )
    }

    pub fn get(&self, key: &str) -> Option<&'v Value> {
        self.map.get(key)
    }

    pub fn pointer(&self) -> &str {
        &self.pointer
    }
}

/// A request body type: read from the parsed JSON, recording every bad field in `errors`.
/// Answer `None` when a field failed (its error is already recorded).
pub trait FromBody: Sized {
    fn from_body(body: &Value, errors: &mut FieldErrors) -> Option<Self>;
}

/// Extracts a validated `T` from a JSON body: 415 for a wrong content type, 413 over
/// [`BODY_LIMIT`], 400 for malformed JSON, 422 with every field error.
pub struct JsonBody<T>(pub T);

impl<T: FromBody + 'static> FromRequest for JsonBody<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let raw = RawJson::from_request(req, payload);
        Box::pin(async move { raw.await?.parse().map(JsonBody) })
    }
}

/// A syntactically valid JSON body not yet read into a request type: handlers that must check
/// the caller's permission before judging the fields (so a forbidden caller gets 403, not 422)
/// take this and call [`RawJson::parse`] after the policy.
pub struct RawJson(pub Value, pub Option<NaiveDate>);

impl RawJson {
    pub fn parse<T: FromBody>(&self) -> Result<T, AppError> {
        let mut errors = match self.1 {
            Some(today) => FieldErrors::with_today(today),
            None => FieldErrors::new(),
        };
        let parsed = T::from_body(&self.0, &mut errors);
        errors.finish(parsed)
    }
}

impl FromRequest for RawJson {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let checked = check_content_type(req).and_then(|_| check_declared_length(req));
        let today = req
            .app_data::<actix_web::web::Data<crate::state::AppState>>()
            .map(|state| state.clock.today());
        let mut payload = payload.take();
        Box::pin(async move {
            checked?;
            let bytes = read_limited(&mut payload, BODY_LIMIT).await?;
            parse_json(&bytes).map(|value| RawJson(value, today))
        })
    }
}

fn check_content_type(req: &HttpRequest) -> Result<(), AppError> {
    let expected = "application/json";
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let merge_patch_ok = req.method() == actix_web::http::Method::PATCH;
    if essence == expected || (merge_patch_ok && essence == "application/merge-patch+json") {
        Ok(())
    } else {
        Err(AppError::UnsupportedMediaType { expected })
    }
}

fn check_declared_length(req: &HttpRequest) -> Result<(), AppError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(n) if n > BODY_LIMIT as u64 => Err(AppError::PayloadTooLarge { limit: BODY_LIMIT }),
        _ => Ok(()),
    }
}

/// Reads the body, stopping as soon as it passes `limit` (a chunked body declares no length).
pub async fn read_limited(payload: &mut Payload, limit: usize) -> Result<Vec<u8>, AppError> {
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| AppError::Malformed(format!("could not read the body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(AppError::PayloadTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Step one: any syntactically valid JSON, else 400.
pub fn parse_json(bytes: &[u8]) -> Result<Value, AppError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::Malformed(
            "the request body is empty; expected JSON".into(),
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        AppError::Malformed(format!(
            "the body is not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dates_must_exist() {
        assert!(NaiveDate::from_field(&json!("2024-02-29")).is_ok());
        assert_eq!(
            NaiveDate::from_field(&json!("2026-02-30"))
                .unwrap_err()
                .code,
            "date"
        );
        assert_eq!(
            NaiveDate::from_field(&json!("2026-2-3")).unwrap_err().code,
            "format"
        );
        assert_eq!(
            NaiveDate::from_field(&json!(20260203)).unwrap_err().code,
            "type"
        );
    }

    #[test]
    fn text_limits_count_characters_and_refuse_control_characters() {
        assert!(Name::from_field(&json!("Łucja Żółć".repeat(9))).is_ok()); // 90 chars, more bytes
        assert_eq!(
            Name::from_field(&json!("a".repeat(101))).unwrap_err().code,
            "too_long"
        );
        assert_eq!(
            Name::from_field(&json!("An\u{0007}na")).unwrap_err().code,
            "control_character"
        );
        assert_eq!(Name::from_field(&json!("   ")).unwrap_err().code, "blank");
        assert_eq!(
            Name::from_field(&json!("  Anna ")).unwrap().as_str(),
            "Anna"
        );
        assert!(FreeText::from_field(&json!("line one\n\tline two")).is_ok());
        assert_eq!(
            FreeText::from_field(&json!("a\u{0000}b")).unwrap_err().code,
            "control_character"
        );
        assert_eq!(
            FreeText::from_field(&json!("x".repeat(20_001)))
                .unwrap_err()
                .code,
            "too_long"
        );
    }

    #[test]
    fn pointers_escape_slashes_and_tildes() {
        let v = json!({});
        let mut errors = FieldErrors::new();
        let obj = errors.object(&v, "/items/0").unwrap();
        assert_eq!(obj.child("a/b~c"), "/items/0/a~1b~0c");
    }

    #[test]
    fn every_failure_is_collected() {
        let body = json!({"count": "x", "flag": 3, "on": "2026-02-30"});
        let mut errors = FieldErrors::new();
        let obj = errors.object(&body, "").unwrap();
        let _: Option<i64> = errors.required(&obj, "count");
        let _: Option<bool> = errors.required(&obj, "flag");
        let _: Option<Option<NaiveDate>> = errors.optional(&obj, "on");
        let _: Option<Name> = errors.required(&obj, "name");
        let fields: Vec<_> = errors
            .into_vec()
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect();
        assert_eq!(
            fields,
            vec![
                ("/count".to_string(), "type".to_string()),
                ("/flag".to_string(), "type".to_string()),
                ("/on".to_string(), "date".to_string()),
                ("/name".to_string(), "required".to_string()),
            ]
        );
    }
}
