//! Case notes: append-only, `team` or `psychologist` confidentiality, corrections as new notes.

pub mod model;
pub mod repo;
pub mod routes;
pub mod service;
