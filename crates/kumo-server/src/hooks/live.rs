//! The hook configs that are live: each app's current version's, parsed once per version.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::config::{self, HookConfig};
use crate::service::Service;

/// An app's live hooks.
#[derive(Debug, Clone)]
pub(crate) struct LiveApp {
    pub version_id: String,
    pub config: Arc<HookConfig>,
}

#[derive(Default)]
pub(crate) struct Live {
    apps: Mutex<HashMap<String, LiveApp>>,
}

impl Live {
    /// Reads every app's live config again; a version's config is parsed only when it is new
    /// or changed. Returns the apps whose live version changed (or that are new).
    pub async fn refresh(&self, service: &Service) -> kumo_storage::Result<Vec<String>> {
        let rows = service.storage.live_hook_configs().await?;
        let mut changed = Vec::new();
        let mut next = HashMap::with_capacity(rows.len());
        let known = self.apps.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for (app_id, version_id, text) in rows {
            let text_hash = hash(&text);
            let reuse = known
                .get(&app_id)
                .filter(|l| l.version_id == version_id && l.config.source_hash == text_hash);
            let live = match reuse {
                Some(l) => l.clone(),
                None => {
                    // Checked when it was uploaded; a config that no longer parses (a newer
                    // Kumo being stricter) is logged and left out, never half used.
                    let mut parsed = match config::parse_stored(text).await {
                        Ok(parsed) => parsed,
                        Err(e) => {
                            tracing::warn!(app = app_id, version = version_id, error = %e.message, "a live hook config does not parse");
                            continue;
                        }
                    };
                    parsed.source_hash = text_hash;
                    changed.push(app_id.clone());
                    LiveApp {
                        version_id,
                        config: Arc::new(parsed),
                    }
                }
            };
            next.insert(app_id, live);
        }
        for app_id in known.keys() {
            if !next.contains_key(app_id) {
                changed.push(app_id.clone());
            }
        }
        *self.apps.lock().unwrap_or_else(|e| e.into_inner()) = next;
        Ok(changed)
    }

    pub fn get(&self, app_id: &str) -> Option<LiveApp> {
        self.apps
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(app_id)
            .cloned()
    }

    pub fn all(&self) -> Vec<(String, LiveApp)> {
        self.apps
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

fn hash(text: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}
