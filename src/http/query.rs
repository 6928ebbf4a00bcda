//! Query strings: every parameter is named and checked, unknown ones are refused, and every
//! problem is reported at once as a 400 naming the parameters (api.md §13.1).

use std::future::{ready, Ready};
use std::str::FromStr;

use actix_web::{FromRequest, HttpRequest};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use super::problem::{AppError, FieldError};

pub const DEFAULT_PER_PAGE: u32 = 50;
pub const MAX_PER_PAGE: u32 = 200;

/// The parsed query string of one request. Read each parameter the endpoint offers, then call
/// [`QueryParams::finish`], which refuses anything not read and reports every bad value.
#[derive(Debug)]
pub struct QueryParams {
    pairs: Vec<(String, String)>,
    read: Vec<String>,
    errors: Vec<FieldError>,
}

impl QueryParams {
    pub fn parse(query: &str) -> Result<Self, AppError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).map_err(|_| {
            AppError::BadQuery(vec![FieldError::new(
                "",
                "syntax",
                "the query string cannot be decoded",
            )])
        })?;
        Ok(QueryParams {
            pairs,
            read: Vec::new(),
            errors: Vec::new(),
        })
    }

    fn raw(&mut self, name: &str) -> Option<String> {
        self.read.push(name.to_owned());
        let mut values = self.pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v);
        let first = values.next()?.clone();
        if values.next().is_some() {
            self.errors.push(FieldError::new(
                name,
                "repeated",
                "give this parameter once",
            ));
            return None;
        }
        Some(first)
    }

    /// A parameter parsed with `parse`; a failure is recorded against its name.
    pub fn get_with<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let raw = self.raw(name)?;
        match parse(&raw) {
            Ok(v) => Some(v),
            Err(message) => {
                self.errors.push(FieldError::new(name, "invalid", message));
                None
            }
        }
    }

    /// A parameter of a `FromStr` type.
    pub fn get<T: FromStr>(&mut self, name: &str, expected: &str) -> Option<T> {
        self.get_with(name, |raw| {
            raw.parse::<T>().map_err(|_| format!("expected {expected}"))
        })
    }

    /// A parameter the endpoint cannot do without: missing → `required` against its name.
    pub fn require_with<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let present = self.pairs.iter().any(|(k, _)| k == name);
        let value = self.get_with(name, parse);
        if !present {
            self.errors.push(FieldError::new(
                name,
                "required",
                "this parameter is required",
            ));
        }
        value
    }

    /// An optional calendar date (`YYYY-MM-DD` that exists).
    pub fn date(&mut self, name: &str) -> Option<chrono::NaiveDate> {
        self.get_with(name, parse_day)
    }

    /// A required calendar date.
    pub fn required_date(&mut self, name: &str) -> Option<chrono::NaiveDate> {
        self.require_with(name, parse_day)
    }

    /// A rule across parameters (e.g. `from` ≤ `to`), reported against `name`.
    pub fn reject(&mut self, name: &str, code: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(name, code, message));
    }

    /// `page` (≥ 1, default 1) and `per_page` (1–200, default 50).
    pub fn page(&mut self) -> PageRequest {
        let page = self
            .get_with("page", |raw| match raw.parse::<u32>() {
                Ok(p) if p >= 1 => Ok(p),
                _ => Err("expected a whole number ≥ 1".into()),
            })
            .unwrap_or(1);
        let per_page = self
            .get_with("per_page", |raw| match raw.parse::<u32>() {
                Ok(p) if (1..=MAX_PER_PAGE).contains(&p) => Ok(p),
                _ => Err(format!("expected a whole number from 1 to {MAX_PER_PAGE}")),
            })
            .unwrap_or(DEFAULT_PER_PAGE);
        PageRequest { page, per_page }
    }

    /// Refuses parameters the endpoint does not offer and reports every bad value in one 400.
    pub fn finish(mut self) -> Result<(), AppError> {
        let mut unknown: Vec<&str> = self
            .pairs
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| !self.read.iter().any(|r| r == k))
            .collect();
        unknown.sort_unstable();
        unknown.dedup();
        for name in unknown {
            self.errors.push(FieldError::new(
                name,
                "unknown",
                "this endpoint has no such parameter",
            ));
        }
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::BadQuery(self.errors))
        }
    }
}

impl FromRequest for QueryParams {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(QueryParams::parse(req.query_string()))
    }
}

/// Which page of a list to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: u32,
    pub per_page: u32,
}

/// The pagination parameters as documented (both optional).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct PageParams {
    /// Page number, from 1 (default 1). A page past the end answers an empty `items`.
    #[param(minimum = 1)]
    page: Option<u32>,
    /// Items per page, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    per_page: Option<u32>,
}

impl PageRequest {
    pub fn offset(&self) -> i64 {
        (i64::from(self.page) - 1) * i64::from(self.per_page)
    }
    pub fn limit(&self) -> i64 {
        i64::from(self.per_page)
    }
}

/// The envelope every collection answers with.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Paginated<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub per_page: u32,
    /// Number of items across all pages.
    pub total: i64,
}

fn parse_day(s: &str) -> Result<chrono::NaiveDate, String> {
    super::rules::parse_date(s).map_err(|(_, message)| message)
}

impl<T> Paginated<T> {
    /// One page cut from every item of a list computed whole (`total` counts them all).
    pub fn cut(all: Vec<T>, page: PageRequest) -> Self {
        let total = i64::try_from(all.len()).unwrap_or(i64::MAX);
        let items = all
            .into_iter()
            .skip(usize::try_from(page.offset()).unwrap_or(usize::MAX))
            .take(usize::try_from(page.limit()).unwrap_or(0))
            .collect();
        Paginated::new(items, page, total)
    }

    pub fn new(items: Vec<T>, page: PageRequest, total: i64) -> Self {
        Paginated {
            items,
            page: page.page,
            per_page: page.per_page,
            total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(e: AppError) -> Vec<(String, String)> {
        match e {
            AppError::BadQuery(errs) => errs.into_iter().map(|e| (e.field, e.code)).collect(),
            other => panic!("expected BadQuery, got {other:?}"),
        }
    }

    #[test]
    fn defaults_and_offsets() {
        let mut q = QueryParams::parse("").unwrap();
        let p = q.page();
        q.finish().unwrap();
        assert_eq!((p.page, p.per_page, p.offset()), (1, 50, 0));
        let mut q = QueryParams::parse("page=3&per_page=20").unwrap();
        assert_eq!(q.page().offset(), 40);
    }

    #[test]
    fn every_bad_parameter_is_named() {
        let mut q = QueryParams::parse("page=0&per_page=201&colour=red&status=x&status=y").unwrap();
        q.page();
        let _: Option<String> = q.get("status", "a status");
        assert_eq!(
            fields(q.finish().unwrap_err()),
            vec![
                ("page".into(), "invalid".into()),
                ("per_page".into(), "invalid".into()),
                ("status".into(), "repeated".into()),
                ("colour".into(), "unknown".into()),
            ]
        );
    }
}
