//! The unit's settings: one row, read by every staff member, replaced by admins.

pub mod model;
pub mod repo;
pub mod routes;
pub mod service;
