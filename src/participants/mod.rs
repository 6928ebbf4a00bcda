//! Participants: identity, referral, qualification, care teams, consents, notes.

pub mod pesel;
