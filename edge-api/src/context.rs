//! What a request carries to its handler once the pipeline has authenticated it for a tenant.
//! Below the router and above the handlers, so that neither imports the other.

use crate::auth::Caller;
use crate::crypto::Keys;
use crate::host::Env;
use crate::http::ApiRequest;
use crate::i18n::Lang;
use crate::settings::Settings;
use crate::store::{Actor, Store};

/// A request on its way to a handler: authenticated, for one tenant, with the URL of the base
/// path it came in on (for `meta.location` and `$ref`).
pub(crate) struct Ctx<'a> {
    pub request: &'a ApiRequest,
    pub settings: &'a Settings,
    pub env: &'a Env<'a>,
    pub keys: Keys,
    pub caller: Caller,
    pub base_url: String,
    pub tenant: String,
}

impl Ctx<'_> {
    /// The caller's language for the words of an answer.
    pub fn lang(&self) -> Lang {
        Lang::from_accept_language(self.request.header("accept-language"))
    }

    pub fn actor(&self) -> Actor<'_> {
        Actor { tenant: &self.tenant, name: &self.caller.name }
    }

    /// The store as this request sees it: its tenant, its principal, its clock.
    pub fn store(&self) -> Store<'_> {
        Store::new(self.env.db, self.actor(), self.env.now)
    }

    /// What the domain rules need of the request: no HTTP.
    pub fn scope(&self) -> crate::domain::Scope<'_> {
        crate::domain::Scope { store: self.store(), settings: self.settings, keys: &self.keys }
    }

    /// What a validation needs of the request (SPEC §6, §14).
    pub fn challenge_context(&self) -> crate::domain::validation::Context<'_> {
        crate::domain::validation::Context { scope: self.scope(), log: self.env.log }
    }
}
