//! HTTP conventions shared by every route (api.md §1, §13.1).

pub mod body;
pub mod context;
pub mod etag;
pub mod middleware;
pub mod problem;
pub mod query;
pub mod routes;

pub use body::{FieldErrors, FromBody, FromField, JsonBody, Patch};
pub use context::RequestContext;
pub use etag::{cas_outcome, etag_header, IfMatch};
pub use problem::{AppError, AppResult, FieldError, Problem};
pub use query::{PageRequest, Paginated, QueryParams};
