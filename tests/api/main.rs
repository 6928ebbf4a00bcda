//! Integration tests: the real application on a fresh database per test, spoken to over HTTP.
//! One binary (modules below) keeps linking time down. Backend: `TEST_BACKEND=sqlite|postgres`.

mod common;
mod fixtures;

mod annual_esf_reports;
mod audit_chain;
mod audit_routes;
mod auth;
mod authz_matrix;
mod cli;
mod consents;
mod conventions;
mod csv_exports;
mod database;
mod demo;
mod diagnoses;
mod dictionaries;
mod gdpr;
mod hardening;
mod lifecycle;
mod notes;
mod operations;
mod outcomes;
mod participants;
mod plans;
mod programme_summary;
mod programmes;
mod reports;
mod sessions;
mod settings;
mod staff;
mod transfer;
mod validation;
mod worklist;
