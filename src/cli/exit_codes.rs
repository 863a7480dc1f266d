//! The process exit codes, documented in the README. Scripts and CI depend on them.

/// No confirmed finding.
pub const OK: u8 = 0;
/// At least one confirmed finding.
pub const FINDINGS: u8 = 1;
/// Usage, configuration or spec error.
pub const USAGE: u8 = 2;
/// The target or a session could not be used (also when it stopped answering mid-run: the
/// findings confirmed before are still written).
pub const TARGET: u8 = 3;
/// The run stopped before finishing its plan (`--max-time`, Ctrl-C) and confirmed nothing:
/// coverage is incomplete, which is not a pass.
pub const INCOMPLETE: u8 = 4;
