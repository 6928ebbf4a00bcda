//! CSV answers for list and report endpoints (api.md §1, §13.1): RFC 4180, UTF-8, a header row,
//! JSON fields flattened with dotted names, nested lists joined with `|`, and cells that a
//! spreadsheet would run as a formula prefixed with `'`.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{Map, Value};

use super::problem::AppError;

/// Whether the client asked for CSV (the negotiation middleware already refused what the
/// endpoint cannot produce).
pub fn wants_csv(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| {
            let prefers_json = accept.contains("application/json") || accept.contains("*/*");
            accept.contains("text/csv") && !prefers_json
        })
}

fn flatten(prefix: &str, value: &Value, out: &mut Map<String, Value>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let name = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&name, v, out);
            }
        }
        other => {
            out.insert(prefix.to_owned(), other.clone());
        }
    }
}

fn cell(value: Option<&Value>) -> String {
    let text = match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| cell(Some(v)))
            .collect::<Vec<_>>()
            .join("|"),
        Some(other) => other.to_string(),
    };
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text
    }
}

/// Renders `rows` under `columns` (dotted names of the flattened JSON).
pub fn render<T: serde::Serialize>(columns: &[&str], rows: &[T]) -> Result<String, AppError> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    writer.write_record(columns).map_err(AppError::internal)?;
    for row in rows {
        let mut flat = Map::new();
        flatten("", &serde_json::to_value(row)?, &mut flat);
        writer
            .write_record(columns.iter().map(|c| cell(flat.get(*c))))
            .map_err(AppError::internal)?;
    }
    let bytes = writer.into_inner().map_err(AppError::internal)?;
    String::from_utf8(bytes).map_err(AppError::internal)
}

pub fn response(body: String, filename: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .body(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flattens_joins_quotes_and_defuses_formulas() {
        let rows =
            vec![json!({"a": "x,y", "b": {"c": 1}, "d": ["p", "q"], "e": "=SUM(A1)", "f": null})];
        let out = render(&["a", "b.c", "d", "e", "f"], &rows).unwrap();
        assert_eq!(out, "a,b.c,d,e,f\r\n\"x,y\",1,p|q,'=SUM(A1),\r\n");
    }
}
