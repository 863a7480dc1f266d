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
/// Nothing confirmed, but the run stopped before finishing its plan (`--max-time`, Ctrl-C) or
/// left operations that take a resource id untested beyond `campaign.max_untested`: coverage
/// is incomplete, which is not a pass. For `replay`: no finding is still vulnerable, but some
/// finding's reproduction could not decide (a session rejected, a set-up step failed).
pub const INCOMPLETE: u8 = 4;

/// The table `--help` ends with.
pub const HELP: &str = "\
Exit codes:
  0  no confirmed finding, and every operation that takes a resource id was tested
  1  at least one confirmed finding (not in the --baseline)
  2  usage, config or spec error
  3  the target or a session could not be used
  4  incomplete: nothing confirmed, but the run stopped early or left operations that take a
     resource id untested (beyond campaign.max_untested); not a pass
     (replay: none still vulnerable, but some finding could not be decided)";
