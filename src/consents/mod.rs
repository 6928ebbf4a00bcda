//! Consents for the optional purposes (contact after exit, image, sharing with an employer,
//! OPS or PUP, other): recorded, read with a computed state, withdrawn — never edited.

pub mod model;
pub mod repo;
pub mod routes;
pub mod service;
