//! Configuration: TOML into raw serde structs, then validated [`Settings`]; `${env:NAME}` and
//! `${file:PATH}` interpolation into [`Secret`]s. Layers, lowest first: defaults, the file, flags.

mod auth_file;
mod identity;
mod interpolate;
mod raw;
mod settings;
mod shard;

pub use crate::secret::Secret;
pub(crate) use settings::parse_origin;
pub use settings::{
    Allowance, CampaignSettings, ConfigError, DigestEncoding, HmacAlgorithm, IdentitySettings,
    LinkOverride, PolicyRule, PolicySettings, Reach, Settings, WebhookSettings,
};
pub use shard::Shard;
