//! Configuration: TOML into raw serde structs, then validated [`Settings`]; `${env:NAME}` and
//! `${file:PATH}` interpolation into [`Secret`]s. Layers, lowest first: defaults, the file, flags.

mod identity;
mod raw;
mod secret;
mod settings;
mod wfc;

pub use secret::Secret;
pub use settings::{CampaignSettings, ConfigError, IdentitySettings, LinkOverride, Settings};
