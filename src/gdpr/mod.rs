//! Data protection (api.md §11, §13.4, §13.7): each participant's `retention_until`, the
//! participants whose retention has ended, the access log of a record, the GDPR export and
//! anonymisation.

pub mod model;
pub mod retention;
pub mod routes;
pub mod service;
