//! The web side of a USSD → web hand-off: a flow moved here from USSD
//! becomes a link session (already open, at the step the person was on)
//! behind a fresh link token, and its outcome can be read back for the
//! person's re-dial.

use super::state::LinkState;
use super::token::{random_hex, session_key, LinkToken};
use super::LinkService;
use crate::channel::ussd::WebHandoff;
use crate::service::{ServiceError, Session};
use crate::store::BoxFuture;

impl WebHandoff for LinkService {
    fn adopt(&self, session: Session<()>) -> BoxFuture<'_, Result<(String, String), ServiceError>> {
        Box::pin(async move {
            let token = LinkToken::generate();
            let ttl = self.config.token_ttl;
            let state = LinkState {
                token_hash: token.hash(),
                public_hash: token.public_token().hash(),
                expires_at: self.service.now().plus_ms(ttl.as_millis() as u64),
                seq: 0,
                last: None,
                salt: random_hex(1),
                events: Vec::new(),
                first_event: 0,
                redirect_url: None,
                // The flow is under way: the page continues it where it is.
                opened: true,
                preselect: None,
                reauthorise: None,
                // The flow's sessions keep the customer it was started for.
                partner_customer: None,
                first: Vec::new(),
                screens: Vec::new(),
                first_screen: 0,
            };
            let expires_at = state.expires_at;
            let mut session = session.map_channel(|()| state);
            session.keep_until = Some(expires_at);
            let key = session_key(&token.id);
            self.service
                .store()
                .compare_and_set(&key, None, session.to_bytes()?, ttl)
                .await?;
            Ok((key, self.link_url(&token)))
        })
    }

    fn abandon<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), ServiceError>> {
        Box::pin(async move {
            if key.starts_with("link:") {
                self.service.store().delete(key).await?;
            }
            Ok(())
        })
    }

    fn outcome<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<Session<()>>, ServiceError>> {
        Box::pin(async move {
            if !key.starts_with("link:") {
                return Ok(None);
            }
            let loaded = self.service.load::<LinkState>(key).await?;
            Ok(loaded.map(|l| l.session.map_channel(|_| ())))
        })
    }
}
