//! Request bodies in two passes that both report every failure, so one 422 lists them all.
//!
//! 1. **Shape** (serde): the JSON is deserialized into the body's wire type. serde stops at the
//!    first error, so [`read_shape`] records it with its JSON Pointer, takes the offending value
//!    out of the document and tries again; every wrong JSON type, unknown enum value or
//!    malformed date is reported, each at its own pointer. Unknown fields are ignored (§13.1).
//! 2. **Rules** (`validator`): the wire type's `#[validate(...)]` attributes — required fields,
//!    lengths, ranges, nested objects and arrays, the custom rules of the value types (PESEL,
//!    phone, postal code, text limits, "not in the future") and cross-field `schema` rules.
//!    [`flatten`] turns the nested `ValidationErrors` into JSON Pointers.
//!
//! Rules that need stored data run later, in the services (a second 422; see ARCHITECTURE.md).

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::cmp::Ordering;

use chrono::NaiveDate;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use validator::{Validate, ValidationError, ValidationErrors, ValidationErrorsKind};

use super::problem::{AppError, FieldError};

/// A request body: a wire type that serde reads and `validator` checks, turned into the value the
/// service works with. `from_wire` only runs on a wire value that passed every rule, so it may
/// rely on them (`?` on a field marked `required`).
pub trait RequestBody: Sized {
    type Wire: DeserializeOwned + Validate;
    /// The body is a JSON array (`PUT` of a sub-collection) rather than an object.
    const ARRAY: bool = false;
    fn from_wire(wire: Self::Wire) -> Option<Self>;
}

/// Bodies whose wire shape is already the value the service wants (every field optional).
macro_rules! wire_is_body {
    ($($t:ty),+ $(,)?) => {$(
        impl $crate::http::rules::RequestBody for $t {
            type Wire = $t;
            fn from_wire(wire: $t) -> Option<$t> {
                Some(wire)
            }
        }
    )+};
}
pub(crate) use wire_is_body;

/// Reads `T` out of a parsed JSON body: one 422 with every shape and rule failure.
pub fn read_body<T: RequestBody>(body: &Value, today: NaiveDate) -> Result<T, AppError> {
    if body.is_array() != T::ARRAY {
        let expected = if T::ARRAY { "an array" } else { "an object" };
        return Err(AppError::Validation(vec![FieldError::new(
            "/",
            "type",
            format!("expected {expected}"),
        )]));
    }
    let shape = read_shape::<T::Wire>(body);
    let mut errors = shape.errors.clone();
    if let Some(wire) = &shape.wire {
        let checked = with_context(today, shape.taken.clone(), || wire.validate());
        if let Err(found) = checked {
            let mut rule_errors = Vec::new();
            flatten(&found, "", &mut rule_errors);
            for e in &mut rule_errors {
                e.field = shape.original_pointer(&e.field);
            }
            // A value taken out for its shape must not also be reported as missing or miscounted.
            rule_errors.retain(|e| {
                let taken_out = shape.taken.iter().any(|t| covers(t, &e.field));
                !taken_out && !shape.dropped_from(&e.field)
            });
            errors.extend(rule_errors);
        }
    }
    errors.sort_by(|a, b| pointer_order(&a.field, &b.field).then_with(|| a.code.cmp(&b.code)));
    errors.dedup();
    match shape.wire {
        Some(wire) if errors.is_empty() => T::from_wire(wire).ok_or_else(|| {
            AppError::Internal("a validated body lacks a field its rules require".into())
        }),
        _ => Err(AppError::Validation(errors)),
    }
}

/// The `(pointer, code)` of every failure `T` reports for `body` (unit tests of body rules; dates
/// are judged on 2026-06-15).
#[cfg(test)]
pub fn field_codes<T: RequestBody>(body: &Value) -> Vec<(String, String)> {
    let today = NaiveDate::from_ymd_opt(2026, 6, 15).expect("a real date");
    match read_body::<T>(body, today) {
        Ok(_) => Vec::new(),
        Err(AppError::Validation(list)) => list.into_iter().map(|e| (e.field, e.code)).collect(),
        Err(other) => panic!("not a validation error: {other:?}"),
    }
}

/// At most this many shape errors are collected from one body; the rest wait for the next try.
const MAX_SHAPE_ERRORS: usize = 100;

/// Step one: deserialize, collecting every serde error with its pointer (see the module doc).
/// The wire value is `None` when the document cannot become a `W` at all (e.g. an array where
/// an object belongs).
pub fn read_shape<W: DeserializeOwned>(body: &Value) -> Shape<W> {
    let mut shape = Shape {
        wire: None,
        errors: Vec::new(),
        taken: Vec::new(),
        dropped: Dropped::default(),
    };
    let mut doc: Option<Value> = None;
    loop {
        let current = doc.as_ref().unwrap_or(body);
        let failure = match serde_path_to_error::deserialize::<_, W>(current) {
            Ok(wire) => {
                shape.wire = Some(wire);
                return shape;
            }
            Err(e) => e,
        };
        let mut at = segments(failure.path());
        let problem = describe_serde(&failure.inner().to_string());
        if let Some(field) = &problem.missing_field {
            at.push(field.clone());
        }
        let pointer = to_pointer(&shape.dropped.original(&at));
        let doc = doc.get_or_insert_with(|| body.clone());
        if shape.errors.iter().any(|e| e.field == pointer) || shape.errors.len() >= MAX_SHAPE_ERRORS
        {
            // Taking the value out did not help (a required field of a required object): give up
            // on its container.
            let container = &at[..at.len().saturating_sub(1)];
            if at.is_empty() || !shape.take_out(doc, container) {
                return shape;
            }
            continue;
        }
        let missing = problem.missing_field.is_some();
        shape
            .errors
            .push(FieldError::new(pointer, problem.code, problem.message));
        // A missing non-optional field cannot be taken out: its container goes instead.
        let target = if missing {
            &at[..at.len() - 1]
        } else {
            &at[..]
        };
        if target.is_empty() || !shape.take_out(doc, target) {
            return shape;
        }
    }
}

/// What the shape step found: the wire value (when the document could be read at all), the
/// errors and the values taken out, in the client's coordinates, and the array items dropped.
pub struct Shape<W> {
    pub wire: Option<W>,
    pub errors: Vec<FieldError>,
    taken: Vec<String>,
    dropped: Dropped,
}

impl<W> Shape<W> {
    /// Removes the value at `path` (in the reduced document) so the next attempt reads past it:
    /// an object member is removed (an absent optional field); an array item is dropped and
    /// remembered, so later items are still reported at their own index. `false` when there is
    /// nothing to take out.
    fn take_out(&mut self, doc: &mut Value, path: &[String]) -> bool {
        let Some((last, parents)) = path.split_last() else {
            return false;
        };
        let original = self.dropped.original(path);
        let mut node = doc;
        for key in parents {
            node = match node {
                Value::Object(map) => match map.get_mut(key) {
                    Some(v) => v,
                    None => return false,
                },
                Value::Array(items) => {
                    match key.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                        Some(v) => v,
                        None => return false,
                    }
                }
                _ => return false,
            };
        }
        let removed = match node {
            Value::Object(map) => map.remove(last).is_some(),
            Value::Array(items) => match last.parse::<usize>() {
                Ok(i) if i < items.len() => {
                    items.remove(i);
                    if let Some((index, array)) = original.split_last() {
                        if let Ok(index) = index.parse() {
                            self.dropped.0.push((array.to_vec(), index));
                        }
                    }
                    true
                }
                _ => false,
            },
            _ => false,
        };
        if removed {
            self.taken.push(to_pointer(&original));
        }
        removed
    }

    /// True when items were dropped from the array at `pointer`: a rule about the whole array
    /// (its count, "at least one") judged the reduced array and says nothing.
    fn dropped_from(&self, pointer: &str) -> bool {
        self.dropped
            .0
            .iter()
            .any(|(array, _)| to_pointer(array) == pointer)
    }

    /// The client's pointer for a pointer into the reduced document.
    fn original_pointer(&self, pointer: &str) -> String {
        let segments: Vec<String> = pointer
            .split('/')
            .skip(1)
            .filter(|s| !s.is_empty())
            .map(|s| s.replace("~1", "/").replace("~0", "~"))
            .collect();
        if segments.is_empty() {
            return pointer.to_owned();
        }
        to_pointer(&self.dropped.original(&segments))
    }
}

/// Array items dropped from the document: (the array's path, the item's index), both as the
/// client sent them.
#[derive(Default)]
struct Dropped(Vec<(Vec<String>, usize)>);

impl Dropped {
    /// Translates a path into the reduced document back to the client's indexes.
    fn original(&self, current: &[String]) -> Vec<String> {
        let mut out: Vec<String> = Vec::with_capacity(current.len());
        for segment in current {
            let translated = match segment.parse::<usize>() {
                Ok(index) => {
                    let mut gone: Vec<usize> = self
                        .0
                        .iter()
                        .filter(|(array, _)| *array == out)
                        .map(|(_, i)| *i)
                        .collect();
                    gone.sort_unstable();
                    let mut original = index;
                    for g in gone {
                        if g <= original {
                            original += 1;
                        }
                    }
                    original.to_string()
                }
                Err(_) => segment.clone(),
            };
            out.push(translated);
        }
        out
    }
}

fn segments(path: &serde_path_to_error::Path) -> Vec<String> {
    use serde_path_to_error::Segment;
    path.iter()
        .filter_map(|s| match s {
            Segment::Seq { index } => Some(index.to_string()),
            Segment::Map { key } => Some(key.clone()),
            Segment::Enum { variant } => Some(variant.clone()),
            Segment::Unknown => None,
        })
        .collect()
}

/// A JSON Pointer (RFC 6901) from path segments; the body itself is `/`.
fn to_pointer(segments: &[String]) -> String {
    if segments.is_empty() {
        return "/".to_owned();
    }
    segments
        .iter()
        .map(|s| format!("/{}", s.replace('~', "~0").replace('/', "~1")))
        .collect()
}

struct SerdeProblem {
    code: &'static str,
    message: String,
    missing_field: Option<String>,
}

/// serde's error sentences, as a code and a message for people. Value types of this crate report
/// their own code as `[code] message` (see [`fault`]).
fn describe_serde(text: &str) -> SerdeProblem {
    let plain = |code, message: String| SerdeProblem {
        code,
        message,
        missing_field: None,
    };
    if let Some(rest) = text.strip_prefix('[') {
        if let Some((code, message)) = rest.split_once("] ") {
            if let Some(code) = KNOWN_FAULTS.iter().find(|c| **c == code) {
                return plain(code, message.to_owned());
            }
        }
    }
    if let Some(rest) = text.strip_prefix("missing field `") {
        return SerdeProblem {
            code: "required",
            message: "is required".into(),
            missing_field: Some(rest.trim_end_matches('`').to_owned()),
        };
    }
    let expected = text
        .split_once(", expected ")
        .map(|(_, e)| humanize_expected(e));
    if text.starts_with("UUID parsing failed") {
        return plain("type", "expected a UUID".into());
    }
    if text.starts_with("unknown variant") {
        return plain(
            "enum",
            format!(
                "expected {}",
                expected.unwrap_or_else(|| "a known value".into())
            ),
        );
    }
    if text.starts_with("invalid type")
        || text.starts_with("invalid value")
        || text.starts_with("invalid length")
    {
        return plain(
            "type",
            format!(
                "expected {}",
                expected.unwrap_or_else(|| "another type".into())
            ),
        );
    }
    plain("format", text.to_owned())
}

fn humanize_expected(expected: &str) -> String {
    match expected {
        "i64" | "i32" | "i16" | "u64" => "a whole number".into(),
        "u32" | "u16" | "u8" => "a whole number ≥ 0".into(),
        "a boolean" => "true or false".into(),
        "a sequence" => "an array".into(),
        "a map" => "an object".into(),
        e if e.starts_with("struct ") => "an object".into(),
        e => e.replace("UUID parsing failed", "a UUID").to_owned(),
    }
}

/// Codes the value types of this crate give their serde errors.
const KNOWN_FAULTS: &[&str] = &["type", "format", "date", "required"];

/// A serde error from a value type, with a stable code (`type`, `format`, `date`).
pub fn fault<E: serde::de::Error>(code: &'static str, message: impl std::fmt::Display) -> E {
    debug_assert!(KNOWN_FAULTS.contains(&code));
    E::custom(format!("[{code}] {message}"))
}

/// Walks `validator`'s nested errors into JSON Pointers under `prefix`. Struct-level errors
/// (`__all__`) land on the pointer their `field` parameter names inside the struct, or on it.
fn flatten(errors: &ValidationErrors, prefix: &str, out: &mut Vec<FieldError>) {
    for (field, kind) in errors.errors() {
        let here = if field == "__all__" || field == LIST_KEY || field == "_tmp_validator" {
            prefix.to_owned()
        } else {
            format!("{prefix}/{field}")
        };
        match kind {
            ValidationErrorsKind::Field(list) => {
                let more: Vec<ValidationError> = list
                    .iter()
                    .filter_map(|e| e.params.get("more"))
                    .filter_map(|m| serde_json::from_value::<Vec<ValidationError>>(m.clone()).ok())
                    .flatten()
                    .collect();
                for e in list.iter().chain(more.iter()) {
                    let pointer = match e.params.get("field").and_then(Value::as_str) {
                        Some(f) => format!("{here}/{f}"),
                        None => here.clone(),
                    };
                    let pointer = if pointer.is_empty() {
                        "/".into()
                    } else {
                        pointer
                    };
                    out.push(FieldError::new(pointer, e.code.to_string(), message_of(e)));
                }
            }
            ValidationErrorsKind::Struct(inner) => flatten(inner, &here, out),
            ValidationErrorsKind::List(items) => {
                for (index, inner) in items {
                    flatten(inner, &format!("{here}/{index}"), out);
                }
            }
        }
    }
}

/// A rule failure at `pointer`, for rules checked outside a body's `Validate`.
pub fn field_error(pointer: impl Into<String>, e: &ValidationError) -> FieldError {
    FieldError::new(pointer, e.code.to_string(), message_of(e))
}

/// The error's own message, or one made from its code and parameters (built-in validators).
pub fn message_of(e: &ValidationError) -> String {
    if let Some(m) = &e.message {
        return m.to_string();
    }
    let param = |name: &str| e.params.get(name).map(|v| v.to_string());
    match e.code.as_ref() {
        "required" => "is required".into(),
        "range" => match (param("min"), param("max")) {
            (Some(min), Some(max)) => format!("must be between {min} and {max}"),
            (Some(min), None) => format!("must be at least {min}"),
            (None, Some(max)) => format!("must be at most {max}"),
            _ => "is out of range".into(),
        },
        "count" | "length" => match (param("min"), param("max")) {
            (Some(min), Some(max)) => format!("must have {min} to {max} entries"),
            (Some(min), None) => format!("must have at least {min} entries"),
            (None, Some(max)) => format!("must have at most {max} entries"),
            _ => "has the wrong number of entries".into(),
        },
        "email" => "expected an e-mail address such as anna@club.example.org".into(),
        other => other.replace('_', " "),
    }
}

/// True when a shape error at `shape` makes a rule error at `rule` moot: the same value, a value
/// inside it, or its container's "required".
fn covers(shape: &str, rule: &str) -> bool {
    rule == shape
        || rule
            .strip_prefix(shape)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Pointers in document order as far as it can be known: segment by segment, array indexes
/// numerically.
fn pointer_order(a: &str, b: &str) -> Ordering {
    let mut left = a.split('/');
    let mut right = b.split('/');
    loop {
        match (left.next(), right.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let order = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(i), Ok(j)) => i.cmp(&j),
                    _ => x.cmp(y),
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

thread_local! {
    /// The unit's calendar date while a body is being validated. `validator` passes a context
    /// only to the outermost struct (nested structs are validated without it), so the rules of
    /// dates deep in a body read today from here; [`with_context`] scopes it to one validation.
    static TODAY: Cell<Option<NaiveDate>> = const { Cell::new(None) };
    /// The pointers of the values the shape step took out of the body being validated.
    static TAKEN: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with `today` visible to [`not_future`] and [`today`], and `taken` to [`taken_out`].
pub fn with_context<R>(today: NaiveDate, taken: Vec<String>, f: impl FnOnce() -> R) -> R {
    struct Reset(Option<NaiveDate>, Vec<String>);
    impl Drop for Reset {
        fn drop(&mut self) {
            TODAY.with(|t| t.set(self.0));
            TAKEN.with(|t| *t.borrow_mut() = std::mem::take(&mut self.1));
        }
    }
    let _reset = Reset(
        TODAY.with(|t| t.replace(Some(today))),
        TAKEN.with(|t| t.replace(taken)),
    );
    f()
}

/// True when the value at `pointer` was sent but had the wrong JSON type (so the wire holds
/// `None` for it). A rule that fires on an *absent* field ("`id_document` is required when there
/// is no PESEL") asks this first: a PESEL sent as a number is wrong, not missing.
pub fn taken_out(pointer: &str) -> bool {
    TAKEN.with(|t| t.borrow().iter().any(|p| p == pointer))
}

/// Today's date during a validation (`None` outside one).
pub fn today() -> Option<NaiveDate> {
    TODAY.with(Cell::get)
}

/// `#[validate(custom(function = "not_future"))]`: a date that must not lie after today.
pub fn not_future(date: &NaiveDate) -> Result<(), ValidationError> {
    match today() {
        Some(today) if *date > today => Err(rule("future", "must not be in the future")),
        _ => Ok(()),
    }
}

/// A rule failure with its code and message.
pub fn rule(code: &'static str, message: impl Into<Cow<'static, str>>) -> ValidationError {
    ValidationError::new(code).with_message(message.into())
}

/// A failure reported at `field` below the value being checked: a field of the struct for a
/// cross-field (`schema`) rule, an item (`2`) for a rule on a whole list; `a/2` reaches deeper.
pub fn rule_at(
    field: &str,
    code: &'static str,
    message: impl Into<Cow<'static, str>>,
) -> ValidationError {
    let mut e = rule(code, message);
    e.add_param(Cow::Borrowed("field"), &field);
    e
}

/// Several cross-field failures from one `schema` function: `validator` takes one error per
/// function, so struct rules that can fail at several fields at once return them through here.
pub fn rules_at(failures: Vec<ValidationError>) -> Result<(), ValidationError> {
    let mut failures = failures.into_iter();
    match failures.next() {
        None => Ok(()),
        Some(mut first) => {
            let rest: Vec<ValidationError> = failures.collect();
            if !rest.is_empty() {
                first.add_param(Cow::Borrowed("more"), &rest);
            }
            Err(first)
        }
    }
}

/// A value type's own rule, run by `#[validate(custom(function = "valid"))]`.
pub trait Rule {
    fn check(&self) -> Result<(), ValidationError>;
}

impl<T: Rule + ?Sized> Rule for &T {
    fn check(&self) -> Result<(), ValidationError> {
        (**self).check()
    }
}

/// `#[validate(custom(function = "valid"))]` on a field of a [`Rule`] type.
pub fn valid<T: Rule + ?Sized>(value: &T) -> Result<(), ValidationError> {
    value.check()
}

/// A nested JSON object. serde lets a struct be written as an array of its fields in order; an
/// API that names every field must not, so nested objects and array items are read through this.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Obj<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Visit<T> {
            type Value = Obj<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Obj<T>, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Obj)
            }
        }
        d.deserialize_map(Visit(std::marker::PhantomData))
    }
}

impl<T: Validate> Validate for Obj<T> {
    fn validate(&self) -> Result<(), ValidationErrors> {
        self.0.validate()
    }
}

/// Where [`List`] files its own (count) error: the array itself. (`validator` files the items of
/// a bare list under `_tmp_validator`; [`flatten`] reads both as the container.)
const LIST_KEY: &str = "__list__";

/// A JSON array body (`PUT` of a sub-collection) of at most `MAX` items, each with its rules.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct List<T, const MAX: usize>(pub Vec<T>);

impl<T: Validate, const MAX: usize> Validate for List<T, MAX> {
    fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = self.0.validate().err().unwrap_or_default();
        if self.0.len() > MAX {
            errors.add(
                LIST_KEY,
                rule(
                    "count",
                    format!("at most {MAX} entries (got {})", self.0.len()),
                ),
            );
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// A list of plain values, each checked by its [`Rule`] (`#[validate(nested)]`): every failure is
/// reported at its own index.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(transparent)]
pub struct Each<T>(pub Vec<T>);

impl<T> Default for Each<T> {
    fn default() -> Self {
        Each(Vec::new())
    }
}

impl<T: Rule> Validate for Each<T> {
    fn validate(&self) -> Result<(), ValidationErrors> {
        let mut items = std::collections::BTreeMap::new();
        for (i, value) in self.0.iter().enumerate() {
            if let Err(e) = value.check() {
                let mut item = ValidationErrors::new();
                item.add(LIST_KEY, e);
                items.insert(i, Box::new(item));
            }
        }
        if items.is_empty() {
            return Ok(());
        }
        let mut errors = ValidationErrors::new();
        errors
            .errors_mut()
            .insert(Cow::Borrowed(LIST_KEY), ValidationErrorsKind::List(items));
        Err(errors)
    }
}

/// A PATCH field: absent (leave as is), `null` (clear) or a new value. Fields of this type take
/// `#[serde(default)]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Patch<T> {
    #[default]
    Absent,
    Null,
    Value(T),
}

impl<T> Patch<T> {
    pub fn is_absent(&self) -> bool {
        matches!(self, Patch::Absent)
    }

    /// Merges into a nullable stored value: absent keeps it, `null` clears it, a value (turned
    /// into the stored form by `stored`) replaces it.
    pub fn merge_into<U>(self, current: &mut Option<U>, stored: impl FnOnce(T) -> U) {
        match self {
            Patch::Absent => {}
            Patch::Null => *current = None,
            Patch::Value(v) => *current = Some(stored(v)),
        }
    }

    /// Converts a new value; `None` when the conversion fails (absent and `null` always pass).
    pub fn try_map<U>(self, f: impl FnOnce(T) -> Option<U>) -> Option<Patch<U>> {
        Some(match self {
            Patch::Absent => Patch::Absent,
            Patch::Null => Patch::Null,
            Patch::Value(v) => Patch::Value(f(v)?),
        })
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(d)? {
            None => Patch::Null,
            Some(v) => Patch::Value(v),
        })
    }
}

/// `validator` copies checked values into its error parameters.
impl<T: serde::Serialize> serde::Serialize for Patch<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Patch::Value(v) => v.serialize(s),
            Patch::Absent | Patch::Null => s.serialize_none(),
        }
    }
}

impl<T: Rule> Rule for Patch<T> {
    fn check(&self) -> Result<(), ValidationError> {
        match self {
            Patch::Value(v) => v.check(),
            Patch::Absent | Patch::Null => Ok(()),
        }
    }
}

impl<T: Validate> Validate for Patch<T> {
    fn validate(&self) -> Result<(), ValidationErrors> {
        match self {
            Patch::Value(v) => v.validate(),
            Patch::Absent | Patch::Null => Ok(()),
        }
    }
}

/// `#[validate(custom(function = "not_future_patch"))]` for a clearable date.
pub fn not_future_patch(date: &Patch<NaiveDate>) -> Result<(), ValidationError> {
    match date {
        Patch::Value(d) => not_future(d),
        Patch::Absent | Patch::Null => Ok(()),
    }
}

/// `#[serde(deserialize_with = "forbid_null")]` + `default` for a PATCH field that may be left
/// out but not cleared: `null` is reported as `required` by the shape step.
pub fn forbid_null<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    match Option::<T>::deserialize(d)? {
        Some(v) => Ok(Some(v)),
        None => Err(serde::de::Error::custom("[required] cannot be cleared")),
    }
}

/// The string in a field; anything else is a `type` error of the shape step.
fn string_of<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    String::deserialize(d)
}

/// Text limits of api.md §13.1: each type below is one of them, checked by its [`Rule`].
/// One-line types are trimmed of surrounding spaces (not of control characters, which the rule
/// refuses).
fn check_text(s: &str, max: usize, multiline: bool) -> Result<(), ValidationError> {
    let len = s.chars().count();
    if len > max {
        return Err(rule(
            "too_long",
            format!("at most {max} characters (got {len})"),
        ));
    }
    let allowed = |c: char| multiline && (c == '\n' || c == '\t' || c == '\r');
    if s.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(rule(
            "control_character",
            if multiline {
                "control characters other than newline and tab are not allowed"
            } else {
                "control characters are not allowed"
            },
        ));
    }
    if s.trim().is_empty() {
        return Err(rule("blank", "must not be blank"));
    }
    Ok(())
}

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, $max:expr, $multiline:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const MAX_CHARS: usize = $max;
            pub fn as_str(&self) -> &str {
                &self.0
            }
            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = string_of(d)?;
                Ok($name(if $multiline {
                    s
                } else {
                    s.trim_matches(|c: char| c.is_whitespace() && !c.is_control()).to_owned()
                }))
            }
        }

        impl Rule for $name {
            fn check(&self) -> Result<(), ValidationError> {
                check_text(&self.0, $max, $multiline)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_type!(
    /// A person's name part: 1–100 characters, trimmed, no control characters.
    Name, 100, false
);
text_type!(
    /// Titles, labels, employer and institution names, references: 1–200 characters, one line.
    Label, 200, false
);
text_type!(
    /// Notes, findings, summaries, descriptions: 1–20,000 characters; newline and tab allowed.
    FreeText, 20_000, true
);

/// Calendar dates are `YYYY-MM-DD` and must exist (`2026-02-30` does not): the shape step
/// reports `format` or `date`. Use as `#[serde(deserialize_with = "date")]` (or `opt_date`).
pub fn parse_date(s: &str) -> Result<NaiveDate, (&'static str, String)> {
    let well_formed = s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !well_formed {
        return Err(("format", "expected a date as YYYY-MM-DD".into()));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| ("date", format!("{s} is not a date in the calendar")))
}

/// serde readers of calendar dates (`YYYY-MM-DD`, see [`parse_date`]) that keep `NaiveDate` as the
/// field's type: `#[serde(default, deserialize_with = "date::opt")]` and so on.
pub mod date {
    use super::{fault, parse_date, Patch};
    use chrono::NaiveDate;
    use serde::{Deserialize, Deserializer};

    struct Day(NaiveDate);

    impl<'de> Deserialize<'de> for Day {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let s = String::deserialize(d).map_err(|_: D::Error| {
                fault::<D::Error>("type", "expected a date as YYYY-MM-DD")
            })?;
            parse_date(&s)
                .map(Day)
                .map_err(|(code, message)| fault(code, message))
        }
    }

    /// An optional (or `required`-validated) date; `null` and absent are `None`.
    pub fn opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
        Ok(Option::<Day>::deserialize(d)?.map(|day| day.0))
    }

    /// A clearable PATCH date.
    pub fn patch<'de, D: Deserializer<'de>>(d: D) -> Result<Patch<NaiveDate>, D::Error> {
        Ok(match Option::<Day>::deserialize(d)? {
            None => Patch::Null,
            Some(day) => Patch::Value(day.0),
        })
    }

    /// A PATCH date that may be left out but not cleared.
    pub fn kept<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
        match Option::<Day>::deserialize(d)? {
            Some(day) => Ok(Some(day.0)),
            None => Err(fault("required", "cannot be cleared")),
        }
    }
}

/// serde readers of instants: RFC 3339 with an explicit offset (`2026-03-02T10:00:00+01:00` or
/// `…Z`), kept as UTC. A time without an offset is refused (`format`): a session at "10:00"
/// must say which 10:00.
pub mod instant {
    use super::fault;
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer};

    struct At(DateTime<Utc>);

    impl<'de> Deserialize<'de> for At {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let s = String::deserialize(d).map_err(|_: D::Error| {
                fault::<D::Error>("type", "expected an RFC 3339 date-time with an offset")
            })?;
            DateTime::parse_from_rfc3339(&s)
                .map(|t| At(t.with_timezone(&Utc)))
                .map_err(|_| {
                    fault(
                        "format",
                        "expected an RFC 3339 date-time with an offset, e.g. 2026-03-02T10:00:00+01:00",
                    )
                })
        }
    }

    /// An optional (or `required`-validated) instant.
    pub fn opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        Ok(Option::<At>::deserialize(d)?.map(|at| at.0))
    }

    /// A PATCH instant that may be left out but not cleared.
    pub fn kept<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        match Option::<At>::deserialize(d)? {
            Some(at) => Ok(Some(at.0)),
            None => Err(fault("required", "cannot be cleared")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize, serde::Serialize, Validate)]
    struct Item {
        #[validate(required)]
        code: Option<String>,
        #[validate(range(min = 1, max = 5))]
        n: Option<i64>,
    }

    #[derive(Debug, Deserialize, serde::Serialize, Validate)]
    struct Body {
        #[validate(required)]
        name: Option<String>,
        flag: Option<bool>,
        #[validate(nested, length(max = 3, code = "count"))]
        items: Option<Vec<Obj<Item>>>,
        tags: Option<Vec<String>>,
    }

    wire_is_body!(Body);

    fn errors_of(body: Value) -> Vec<(String, String)> {
        field_codes::<Body>(&body)
    }

    #[test]
    fn every_shape_and_rule_failure_is_listed_once() {
        let got = errors_of(json!({
            "flag": "yes",
            "items": [{"code": 3, "n": 9}, "x", {"n": 2}],
            "tags": ["a", 1]
        }));
        assert_eq!(
            got,
            vec![
                ("/flag".into(), "type".into()),
                ("/items/0/code".into(), "type".into()),
                ("/items/0/n".into(), "range".into()),
                ("/items/1".into(), "type".into()),
                ("/items/2/code".into(), "required".into()),
                ("/name".into(), "required".into()),
                ("/tags/1".into(), "type".into()),
            ]
        );
    }

    #[test]
    fn nested_objects_are_objects_not_arrays_of_fields() {
        assert_eq!(
            errors_of(json!({"name": "a", "items": [["x", 1]]})),
            vec![("/items/0".into(), "type".into())]
        );
    }

    #[test]
    fn pointers_escape_slashes_and_tildes_and_sort_numerically() {
        assert_eq!(to_pointer(&["a/b~c".into()]), "/a~1b~0c");
        assert_eq!(pointer_order("/items/10", "/items/9"), Ordering::Greater);
    }

    #[test]
    fn not_future_reads_the_scoped_date() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        let tomorrow = day.succ_opt().unwrap();
        assert!(with_context(day, Vec::new(), || not_future(&tomorrow)).is_err());
        assert!(with_context(day, Vec::new(), || not_future(&day)).is_ok());
        assert_eq!(today(), None, "the date does not outlive the validation");
    }
}
