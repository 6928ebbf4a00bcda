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

/// Renders `rows` under `columns` (dotted names of the flattened JSON), header row first.
pub fn render<T: serde::Serialize>(columns: &[&str], rows: &[T]) -> Result<String, AppError> {
    String::from_utf8(render_bytes(columns, rows, true)?).map_err(AppError::internal)
}

/// [`render`] on the blocking pool, for answers large enough to stall an async worker.
pub async fn render_off_worker<T>(
    columns: &'static [&'static str],
    rows: Vec<T>,
) -> Result<String, AppError>
where
    T: serde::Serialize + Send + 'static,
{
    actix_web::web::block(move || render(columns, &rows)).await?
}

/// The lines of `rows` (after the header when `header` is set): chunks rendered one after another
/// concatenate to the document [`render`] gives for all the rows at once.
pub fn render_bytes<T: serde::Serialize>(
    columns: &[&str],
    rows: &[T],
    header: bool,
) -> Result<Vec<u8>, AppError> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    if header {
        writer.write_record(columns).map_err(AppError::internal)?;
    }
    for row in rows {
        let mut flat = Map::new();
        flatten("", &serde_json::to_value(row)?, &mut flat);
        writer
            .write_record(columns.iter().map(|c| cell(flat.get(*c))))
            .map_err(AppError::internal)?;
    }
    writer.into_inner().map_err(AppError::internal)
}

fn attachment(filename: &str) -> actix_web::HttpResponseBuilder {
    let mut builder = HttpResponse::Ok();
    builder
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ));
    builder
}

/// The UTF-8 byte order mark every CSV answer starts with: without it Excel reads the file in
/// the system's code page and Polish names (Łódź, Przykładowa) come out garbled. CSV libraries
/// (and LibreOffice) skip it.
pub const BOM: &str = "\u{feff}";

pub fn response(body: String, filename: &str) -> HttpResponse {
    attachment(filename).body(format!("{BOM}{body}"))
}

/// A CSV answer sent as it is produced (chunked): `chunks` yields the header and the lines in
/// order. An error after the first chunk can only abort the connection, so the client sees a
/// truncated transfer rather than a document that silently ends early.
pub fn streaming_response<S>(chunks: S, filename: &str) -> HttpResponse
where
    S: futures_util::Stream<Item = Result<actix_web::web::Bytes, AppError>> + 'static,
{
    use futures_util::StreamExt;
    let bom = futures_util::stream::once(async {
        Ok(actix_web::web::Bytes::from_static(BOM.as_bytes()))
    });
    attachment(filename).streaming(bom.chain(chunks))
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

    #[test]
    fn chunks_concatenate_to_the_whole_document() {
        let rows: Vec<_> = (0..5)
            .map(|i| json!({"n": i, "s": format!("-{i},\"x\""), "l": ["=a", "b"]}))
            .collect();
        let columns = ["n", "s", "l"];
        let whole = render(&columns, &rows).unwrap();
        let mut chunked = render_bytes(&columns, &rows[..2], true).unwrap();
        chunked.extend(render_bytes(&columns, &rows[2..], false).unwrap());
        assert_eq!(String::from_utf8(chunked).unwrap(), whole);
        assert_eq!(
            render_bytes(&columns, &rows[..0], true).unwrap(),
            b"n,s,l\r\n"
        );
    }

    mod properties {
        use super::super::render;
        use proptest::prelude::*;

        proptest! {
            /// Any text survives a CSV round trip through a CSV library, except that a cell a
            /// spreadsheet would run as a formula comes back with one leading quote.
            #[test]
            fn cells_round_trip_and_formulas_are_defused(text in "\\PC{0,20}|[=+@\t\r-]\\PC{0,20}") {
                let doc = render(&["a", "b"], &[serde_json::json!({"a": text, "b": "x"})]).unwrap();
                let mut reader = ::csv::Reader::from_reader(doc.as_bytes());
                let row = reader.records().next().unwrap().unwrap();
                let dangerous = text.starts_with(['=', '+', '-', '@', '\t', '\r']);
                let expected = if dangerous { format!("'{text}") } else { text.clone() };
                prop_assert_eq!(&row[0], expected.as_str());
                prop_assert_eq!(&row[1], "x");
            }
        }
    }
}
