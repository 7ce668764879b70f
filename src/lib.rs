//! manifest-tool as a library: the modules of the command-line tool, one per stage of its
//! pipeline, exposed so that fuzz targets and benchmarks can drive them directly.
//!
//! resolve references (`reference`, `spec`) → fetch manifests (`registry`, `manifest`) →
//! copy blobs and children (`push`) → assemble the list (`list`, `json`) → PUT → tag.
//! `inspect` fetches and renders; `cli` turns arguments into a command.

pub mod cli;
pub mod debug;
pub mod digest;
pub mod error;
pub mod escape;
pub mod inspect;
pub mod json;
pub mod layout;
pub mod list;
pub mod manifest;
pub mod parallel;
pub mod platform;
pub mod progress;
pub mod push;
pub mod redact;
pub mod reference;
pub mod registry;
pub mod spec;
pub mod store;
pub mod test_registry;
