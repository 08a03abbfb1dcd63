//! Profiles: named connection settings in `$XDG_CONFIG_HOME/kumo/NAME.json` (or
//! `~/.config/kumo/`), owner-readable only, with the key names of Kumo's `default-app.json`, so
//! that file and a profile read alike. `kumo login` writes them.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::{json, Map, Value};

use super::conn::Settings;

pub const DEFAULT: &str = "default";

pub struct Profile {
    pub settings: Settings,
}

/// The directory profiles live in.
pub fn dir() -> Result<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(x).join("kumo"));
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".config").join("kumo")),
        None => bail!("cannot find a config directory: neither XDG_CONFIG_HOME nor HOME is set"),
    }
}

/// The file of profile `name`; names are plain words so that a name cannot point elsewhere.
pub fn path(name: &str) -> Result<PathBuf> {
    let plain = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !plain {
        bail!("invalid profile name {name:?}: use letters, digits, '-', '_' and '.'");
    }
    Ok(dir()?.join(format!("{name}.json")))
}

/// Profile `name`, or the default one. A missing default profile is no error; a missing
/// profile asked for by name is.
pub fn load(name: Option<&str>) -> Result<Option<Profile>> {
    let file = path(name.unwrap_or(DEFAULT))?;
    let text = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && name.is_none() => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!(
                "profile {:?} not found ({}); create it with `kumo login`",
                name.unwrap_or(DEFAULT),
                file.display()
            )
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", file.display())),
    };
    let value: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid JSON", file.display()))?;
    Ok(Some(Profile {
        settings: from_json(&value),
    }))
}

/// Settings from a profile or a `default-app.json`.
pub fn from_json(v: &Value) -> Settings {
    let get = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    Settings {
        site: get("site"),
        site_url: get("siteURL"),
        app_id: get("appID"),
        app_key: get("appKey"),
        client_id: get("clientID"),
        client_secret: get("clientSecret"),
        token: get("token"),
        http_proxy: get("httpProxy"),
    }
}

fn to_json(s: &Settings) -> Value {
    let mut m = Map::new();
    for (k, v) in [
        ("site", &s.site),
        ("siteURL", &s.site_url),
        ("appID", &s.app_id),
        ("appKey", &s.app_key),
        ("clientID", &s.client_id),
        ("clientSecret", &s.client_secret),
        ("token", &s.token),
        ("httpProxy", &s.http_proxy),
    ] {
        if let Some(v) = v {
            m.insert(k.into(), json!(v));
        }
    }
    Value::Object(m)
}

/// Writes profile `name` readable by its owner only (the directory too), replacing the file
/// in one rename so a reader never sees half of it.
pub fn save(name: &str, s: &Settings) -> Result<PathBuf> {
    let file = path(name)?;
    let dir = file.parent().expect("a profile path has a directory");
    create_private_dir(dir)?;
    let tmp = dir.join(format!(".{name}.json.tmp"));
    write_private(&tmp, &serde_json::to_string_pretty(&to_json(s))?)?;
    std::fs::rename(&tmp, &file).with_context(|| format!("cannot write {}", file.display()))?;
    Ok(file)
}

fn create_private_dir(dir: &Path) -> Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    f.write_all(text.as_bytes())?;
    f.write_all(b"\n")?;
    Ok(())
}
