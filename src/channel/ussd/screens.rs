//! Screens that depend only on the catalogue, rendered once per catalogue.
//!
//! Invariant: a cached screen is returned only for the very catalogue it was
//! rendered from. The cache holds that catalogue's `Arc`, so comparing by
//! pointer can never meet a reused address; a new catalogue (a refresh)
//! empties the cache before anything of it is stored.
//!
//! Two screens qualify: the bank list every session starts on (when it has
//! no error line and no returning customer's banks first), and a bank's
//! "log in with" menu (the screen after every bank choice). Rendering them
//! measures every line in the GSM alphabet and pages the list; profiled
//! under load, that was a twentieth of a bank-choice hop's CPU.

use super::gateway::Screen;
use crate::flow::Catalogue;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Which catalogue-only screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Which {
    /// The bank list, first page, no error, no banks put first.
    Banks,
    /// The login-method menu of the institution with this id.
    Methods(String),
}

/// No more screens than this are kept for one catalogue: one per bank at
/// most, and a catalogue is a few hundred banks. Past it, screens are
/// rendered and not kept (a hostile catalogue cannot grow the map).
const MAX_SCREENS: usize = 4096;

/// The screens of one catalogue.
#[derive(Debug)]
struct Rendered {
    /// Held, so that comparing by pointer never meets a reused address.
    catalogue: Arc<Catalogue>,
    /// The bank list: every session's first screen, so kept apart from
    /// the map (no hashing on the commonest hop).
    banks: Option<Screen>,
    methods: HashMap<String, Screen>,
}

impl Rendered {
    fn get(&self, which: &Which) -> Option<&Screen> {
        match which {
            Which::Banks => self.banks.as_ref(),
            Which::Methods(id) => self.methods.get(id),
        }
    }
}

/// The cache; one per USSD service (the menu configuration is fixed).
#[derive(Debug, Default)]
pub(super) struct Screens {
    inner: Mutex<Option<Rendered>>,
}

impl Screens {
    /// The screen `which` of `catalogue`, rendered by `render` the first
    /// time it is asked for. A failed render is not kept.
    pub(super) fn get_or_render<E>(
        &self,
        catalogue: &Arc<Catalogue>,
        which: Which,
        render: impl FnOnce() -> Result<Screen, E>,
    ) -> Result<Screen, E> {
        if let Ok(guard) = self.inner.lock() {
            if let Some(r) = guard.as_ref() {
                if Arc::ptr_eq(&r.catalogue, catalogue) {
                    if let Some(s) = r.get(&which) {
                        return Ok(s.clone());
                    }
                }
            }
        }
        // Rendered outside the lock: two hops may render the same screen at
        // once, and both results are the same.
        let screen = render()?;
        if let Ok(mut guard) = self.inner.lock() {
            let r = match guard.take() {
                Some(r) if Arc::ptr_eq(&r.catalogue, catalogue) => r,
                _ => Rendered {
                    catalogue: Arc::clone(catalogue),
                    banks: None,
                    methods: HashMap::new(),
                },
            };
            let r = guard.insert(r);
            match which {
                Which::Banks => r.banks = Some(screen.clone()),
                Which::Methods(id) if r.methods.len() < MAX_SCREENS => {
                    r.methods.insert(id, screen.clone());
                }
                Which::Methods(_) => {}
            }
        }
        Ok(screen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalogue() -> Arc<Catalogue> {
        Arc::new(Catalogue::new(Vec::new()))
    }

    fn text(t: &str) -> Result<Screen, ()> {
        Ok(Screen {
            text: t.to_owned(),
            end: false,
            masked: false,
        })
    }

    /// A screen is rendered once per catalogue and screen; another catalogue
    /// (even while the first is still alive) renders afresh.
    #[test]
    fn renders_once_per_catalogue_and_screen() {
        let screens = Screens::default();
        let (a, b) = (catalogue(), catalogue());
        let mut renders = 0;
        for _ in 0..3 {
            let s = screens
                .get_or_render(&a, Which::Banks, || {
                    renders += 1;
                    text("banks of a")
                })
                .unwrap();
            assert_eq!(s.text, "banks of a");
        }
        assert_eq!(renders, 1);
        let m = screens
            .get_or_render(&a, Which::Methods("x".into()), || text("methods of x"))
            .unwrap();
        assert_eq!(m.text, "methods of x");
        let s = screens
            .get_or_render(&b, Which::Banks, || text("banks of b"))
            .unwrap();
        assert_eq!(
            s.text, "banks of b",
            "a new catalogue is never served an old screen"
        );
        let again = screens.get_or_render(&a, Which::Banks, || text("banks of a, again"));
        assert_eq!(again.unwrap().text, "banks of a, again");
        let failed = screens.get_or_render(&a, Which::Methods("y".into()), || Err(()));
        assert!(failed.is_err());
        let after = screens.get_or_render(&a, Which::Methods("y".into()), || text("methods of y"));
        assert_eq!(
            after.unwrap().text,
            "methods of y",
            "a failed render is not kept"
        );
    }
}
