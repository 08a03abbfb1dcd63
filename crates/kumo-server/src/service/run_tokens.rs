//! Admin tokens of running server code (`context.getAppAdminContext()`).
//!
//! Each run that asks for the app-admin context gets a token of its own, made for that run and
//! forgotten when it ends. Such a token is never stored (no query, log or export can read it
//! back) and the server accepts it only on the run's own in-process requests
//! ([`crate::auth::FromServerCode`]): a token that leaks out of a run opens nothing, during the
//! run or after it.

use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Default)]
pub struct RunTokens {
    /// Token → the app it is an admin token of.
    tokens: Mutex<HashMap<String, String>>,
}

impl RunTokens {
    /// A fresh admin token of `app_id`, valid until [`RunTokens::revoke`].
    pub fn issue(&self, app_id: &str) -> String {
        let (token, _) = crate::secrets::new_token();
        self.lock().insert(token.clone(), app_id.to_owned());
        token
    }

    pub fn revoke(&self, token: &str) {
        self.lock().remove(token);
    }

    /// The app whose admin `token` is, while its run lasts.
    pub fn app_of(&self, token: &str) -> Option<String> {
        self.lock().get(token).cloned()
    }

    /// How many runs hold a token now.
    pub fn live(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.tokens.lock().unwrap_or_else(|e| e.into_inner())
    }
}
