//! Integration tests: the real `leakhound` binary over real files, directories and pipes.
//!
//! Secrets used here are fake. Test sources never spell one out whole (they are assembled from
//! pieces at run time or read from `fixtures/`), so that `leakhound scan .` over this repository
//! stays clean.

mod breadth;
mod corpus;
mod decode;
mod gitleaks;
mod gitrepo;
mod hostile_big;
mod hostile_ci;
mod hostile_fs;
mod hostile_git;
mod hostile_image;
mod hostile_output;
mod hostile_structure;
mod lifecycle;
mod org;
mod realworld;
mod registry;
mod report;
mod rules;
mod scan_ci;
mod scan_fs;
mod scan_git;
mod scan_image;
mod staged;
mod util;
mod validate;
mod verify;
