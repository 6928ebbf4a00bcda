//! Staff accounts and the staff directory.

pub mod model;
pub mod repo;
pub mod routes;
pub mod service;
