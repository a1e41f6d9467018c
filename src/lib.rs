//! leakhound finds leaked credentials and tells the owner how to revoke and rotate them.
//!
//! Data flows one way: an [`sources::fs::Input`] named by the user → a source hands each input's
//! bytes with its [`finding::Origin`] to a worker → the [`detect::Detector`] yields byte-span
//! [`detect::Match`]es → [`finding::Finding`]s (owned, redacted, with line/column and
//! remediation) → a [`report::Reporter`]. The binary (`src/main.rs`) only parses arguments and
//! calls [`cli::run`].
#![deny(clippy::unwrap_used)]
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod analysis;
pub mod ci;
pub mod cli;
pub mod config;
pub mod detect;
pub mod finding;
pub mod gitleaks;
pub mod pipeline;
pub mod report;
pub mod rules;
pub mod secret;
pub mod sources;
pub mod store;
pub mod suppress;
pub mod timestamp;
pub mod verify;
