//! The subcommands of the `connectflow` program.

pub(crate) mod graph;
pub(crate) mod link;
pub(crate) mod link_api;
pub(crate) mod sandbox;
pub(crate) mod serve;
mod terminal;
pub(crate) mod ussd_sim;

/// Any error that ends the program before a flow result exists.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The partner a command talks to: `--base-url` with its secret key, or the
/// embedded sandbox (started in-process on loopback) with its test key.
pub(crate) struct Partner {
    pub(crate) url: String,
    pub(crate) key: String,
    /// Kept alive for the command's lifetime when embedded.
    pub(crate) sandbox: Option<connectflow::sandbox::Sandbox>,
}

pub(crate) async fn partner(
    base_url: Option<&str>,
    secret_key: Option<&str>,
) -> Result<Partner, BoxError> {
    match base_url {
        Some(url) => {
            let key =
                secret_key.ok_or("--base-url needs a secret key: --secret-key or MONO_SEC_KEY")?;
            Ok(Partner {
                url: url.to_owned(),
                key: key.to_owned(),
                sandbox: None,
            })
        }
        None => {
            let sandbox = connectflow::sandbox::Sandbox::start_local().await?;
            Ok(Partner {
                url: sandbox.url(),
                key: connectflow::sandbox::SECRET_KEY.to_owned(),
                sandbox: Some(sandbox),
            })
        }
    }
}
