//! Authentication: passwords, tokens, the `CurrentStaff` extractor and login throttling.

pub mod current;
pub mod password;
pub mod routes;
pub mod service;
pub mod throttle;
pub mod token;

pub use current::{Authenticated, CurrentStaff};
