//! Flags that widen what a run may touch, both off by default: more origins to send to, and
//! pre-existing data to change.

use clap::Args;

/// Scope flags of `run`.
#[derive(Debug, Args, Default, Clone)]
pub struct ScopeArgs {
    /// Also send to this origin (`https://auth.example.com`) besides the base URL's; repeatable
    /// (adds to `allow_origins`).
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    pub allow_origins: Vec<String>,
    /// Let attacks write to, delete and act on pre-existing (discovered) data, not only on what
    /// the campaign created (sets `campaign.mutate_seeded`). Never on shared data you cannot lose.
    #[arg(long)]
    pub mutate_seeded: bool,
}

impl ScopeArgs {
    /// Applies the flags to settings.
    pub(crate) fn apply(&self, s: &mut crate::config::Settings) {
        s.allow_origins.extend(self.allow_origins.iter().cloned());
        s.campaign.mutate_seeded |= self.mutate_seeded;
    }
}
