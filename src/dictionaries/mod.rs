//! Dictionaries: risk groups and activity types. Both are coded entries that are listed, read,
//! created and edited the same way; [`model::Entry`] and [`repo::Stored`] say what differs, and
//! the service and route steps are written once over them.

pub mod model;
pub mod repo;
pub mod routes;
pub mod service;
