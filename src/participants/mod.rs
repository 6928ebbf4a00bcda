//! Participants: identity, referral, qualification, risk groups and care teams.

pub mod access;
pub mod lifecycle;
pub mod model;
pub mod pesel;
pub mod repo;
pub mod routes;
pub mod service;
pub mod timeline;
