//! Individual Action Plans (IPD): drafts with goals and actions, activation with the
//! participant's acceptance, revisions that supersede, goal progress, action status and reviews
//! (api.md §7, §13.5; domain brief §4.2).

pub mod model;
pub mod repo;
pub mod routes;
pub mod service;
