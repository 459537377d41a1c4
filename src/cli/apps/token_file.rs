//! Where `connectflow apps login` keeps the partner's access token between
//! commands: `partner-token.json` in the user's config directory
//! (`$XDG_CONFIG_HOME/connectflow`, `~/.config/connectflow` on Linux, or
//! `$CONNECTFLOW_CONFIG_DIR`), readable by its owner only. The token is
//! stored with the base URL it was issued by, so it is never sent to
//! another partner.

use super::super::BoxError;
use connectflow::admin::AccessToken;
use connectflow::flow::Timestamp;
use connectflow::form::Secret;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::PathBuf;

/// Overrides the directory (tests, several partner accounts side by side).
pub(crate) const CONFIG_DIR_ENV: &str = "CONNECTFLOW_CONFIG_DIR";

const FILE: &str = "partner-token.json";

/// The file's contents. Only here is the token ever serialized.
#[derive(Serialize, Deserialize)]
struct Stored {
    base_url: String,
    access_token: String,
    #[serde(default)]
    expires_at: Option<u64>,
}

/// A token read back, and the partner it belongs to.
pub(crate) struct Saved {
    pub(crate) base_url: String,
    pub(crate) token: AccessToken,
}

pub(crate) fn path() -> Result<PathBuf, BoxError> {
    if let Some(dir) = std::env::var_os(CONFIG_DIR_ENV).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join(FILE));
    }
    let dirs = directories::ProjectDirs::from("", "", "connectflow").ok_or(
        "no home directory for the token file: set CONNECTFLOW_CONFIG_DIR, or pass --token / MONO_PARTNER_TOKEN",
    )?;
    Ok(dirs.config_dir().join(FILE))
}

/// Writes the token, replacing any other, with owner-only permissions from
/// the first byte (written to a private temporary file, then renamed).
pub(crate) fn save(base_url: &str, token: &AccessToken) -> Result<PathBuf, BoxError> {
    let path = path()?;
    let dir = path.parent().ok_or("the token file has no directory")?;
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let stored = Stored {
        base_url: base_url.to_owned(),
        access_token: token.token.expose().to_owned(),
        expires_at: token.expires_at.map(|t| t.0),
    };
    let bytes = serde_json::to_vec_pretty(&stored)?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let write = || -> std::io::Result<()> {
        let mut file = options.open(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("writing {}: {e}", path.display())
    })?;
    Ok(path)
}

/// The stored token, if there is one.
pub(crate) fn load() -> Result<Option<Saved>, BoxError> {
    let path = path()?;
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("reading {}: {e}", path.display()).into()),
    };
    let stored: Stored = serde_json::from_slice(&bytes).map_err(|e| {
        format!(
            "{} is not a token file ({e}); log in again with `connectflow apps login`",
            path.display()
        )
    })?;
    Ok(Some(Saved {
        base_url: stored.base_url,
        token: AccessToken::new(
            Secret::new(stored.access_token),
            stored.expires_at.map(Timestamp),
        ),
    }))
}
