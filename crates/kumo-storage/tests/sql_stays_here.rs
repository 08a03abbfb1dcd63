//! Only `kumo-storage` speaks SQL (ARCHITECTURE.md, "Invariants"). This test keeps it so: it
//! reads every other Rust source and manifest of the workspace and fails on a database driver
//! (`sqlx`, `rusqlite`) in code or dependencies, or on a SQL statement in a string literal.
//! Comments may name the drivers; prose in strings ("DELETE /users/{id}", "select a bucket
//! from the list") is not SQL.

use std::path::{Path, PathBuf};

const DRIVERS: [&str; 2] = ["sqlx", "rusqlite"];

#[test]
fn no_sql_or_database_driver_outside_kumo_storage() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    collect(&root, &mut files);
    let mut problems = Vec::new();
    let mut sources = 0;
    for file in &files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        let shown = file.strip_prefix(&root).unwrap_or(file).display();
        if file.file_name().is_some_and(|n| n == "Cargo.toml") {
            if file.parent() == Some(root.as_path()) {
                continue; // The workspace's version table, not a crate's dependencies.
            }
            for (n, line) in text.lines().enumerate() {
                if let Some(driver) = manifest_driver(line) {
                    problems.push(format!("{shown}:{}: depends on {driver}", n + 1));
                }
            }
        } else {
            sources += 1;
            let lexed = lex(&text);
            for driver in DRIVERS {
                if has_word(&lexed.code, driver) {
                    problems.push(format!("{shown}: uses {driver}"));
                }
            }
            for literal in lexed.literals.iter().filter(|l| looks_like_sql(l)) {
                problems.push(format!("{shown}: SQL in a string: {literal:?}"));
            }
        }
    }
    assert!(
        sources >= 20,
        "only {sources} Rust files found under {}: is the walk broken?",
        root.display()
    );
    assert!(
        problems.is_empty(),
        "SQL belongs in kumo-storage only:\n{}",
        problems.join("\n")
    );
}

/// Every `.rs` file and `Cargo.toml` of the workspace outside `kumo-storage`, build output and
/// the JavaScript dependencies.
fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            let skipped = ["target", "node_modules", "kumo-storage"];
            if !name.starts_with('.') && !skipped.contains(&name.as_ref()) {
                collect(&path, out);
            }
        } else if name.ends_with(".rs") || name == "Cargo.toml" {
            out.push(path);
        }
    }
}

/// The driver a manifest line declares as a dependency (`sqlx = …`, `sqlx.workspace = true`,
/// `package = "rusqlite"`), if any.
fn manifest_driver(line: &str) -> Option<&'static str> {
    let line = line.split('#').next().unwrap_or("").trim();
    DRIVERS.into_iter().find(|d| {
        let key = line
            .split('=')
            .next()
            .unwrap_or("")
            .trim()
            .trim_matches('"');
        let section = line.starts_with('[') && line.ends_with(&format!(".{d}]"));
        let renamed = line.replace(' ', "").contains(&format!("package=\"{d}\""));
        (line.contains('=') && (key == *d || key.split('.').next() == Some(d)))
            || section
            || renamed
    })
}

/// A Rust source split into its code (comments and literals removed) and its string literals.
struct Lexed {
    code: String,
    literals: Vec<String>,
}

fn lex(src: &str) -> Lexed {
    let chars: Vec<char> = src.chars().collect();
    let (mut code, mut literals) = (String::new(), Vec::new());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if let Some((literal, end)) = raw_string(&chars, i) {
            literals.push(literal);
            code.push(' ');
            i = end;
        } else if c == '"' {
            let mut literal = String::new();
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    // A line continuation joins the lines with no gap; other escapes are
                    // kept as a space, which is all the SQL check needs.
                    if chars.get(i + 1) == Some(&'\n') {
                        i += 2;
                        while i < chars.len() && chars[i].is_whitespace() {
                            i += 1;
                        }
                        continue;
                    }
                    literal.push(' ');
                    i += 2;
                    continue;
                }
                literal.push(chars[i]);
                i += 1;
            }
            literals.push(literal);
            code.push(' ');
            i += 1;
        } else if c == '\'' {
            // A char literal ('x', '\n', '"'), or else a lifetime.
            if next == Some('\\') {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if chars.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                code.push(c);
                i += 1;
            }
        } else {
            code.push(c);
            i += 1;
        }
    }
    Lexed { code, literals }
}

/// `r"…"`, `r#"…"#` (also `br…`) starting at `i`, not part of a longer identifier: the
/// literal and where it ends.
fn raw_string(chars: &[char], i: usize) -> Option<(String, usize)> {
    if i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_') {
        return None;
    }
    let mut j = i;
    if chars.get(j) == Some(&'b') {
        j += 1;
    }
    if chars.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    let hashes = chars[j..].iter().take_while(|c| **c == '#').count();
    j += hashes;
    if chars.get(j) != Some(&'"') {
        return None;
    }
    let start = j + 1;
    let mut k = start;
    while k < chars.len() {
        if chars[k] == '"'
            && chars[k + 1..]
                .iter()
                .take(hashes)
                .filter(|c| **c == '#')
                .count()
                == hashes
        {
            return Some((chars[start..k].iter().collect(), k + 1 + hashes));
        }
        k += 1;
    }
    None
}

fn has_word(code: &str, word: &str) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    code.match_indices(word).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        let after = code[at + word.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

/// Does a string literal hold a SQL statement? SQL here is written with upper-case keywords,
/// so upper-case keyword pairs count; lower-case SQL counts only in shapes prose does not take
/// (`insert into t (`, `update t set c =`, `delete from t where`, `select … from t where … =`).
fn looks_like_sql(literal: &str) -> bool {
    let tokens = tokens(literal);
    let t = |i: usize| tokens.get(i).map(String::as_str).unwrap_or("");
    let upper = |i: usize, w: &str| t(i) == w;
    let any_case = |i: usize, w: &str| t(i).eq_ignore_ascii_case(w);
    let ident = |i: usize| {
        t(i).chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
    };
    let whole = literal.trim().trim_end_matches(';').trim();
    if [
        "BEGIN",
        "BEGIN IMMEDIATE",
        "BEGIN TRANSACTION",
        "COMMIT",
        "ROLLBACK",
    ]
    .contains(&whole)
    {
        return true;
    }
    (0..tokens.len()).any(|i| {
        let later = |w: &str, case: bool| {
            tokens[i + 1..].iter().any(|x| {
                if case {
                    x == w
                } else {
                    x.eq_ignore_ascii_case(w)
                }
            })
        };
        (upper(i, "SELECT") && later("FROM", true))
            || (any_case(i, "select")
                && later("from", false)
                && later("where", false)
                && (later("=", true) || literal.contains('$')))
            || (upper(i, "INSERT") && upper(i + 1, "INTO"))
            || (any_case(i, "insert")
                && any_case(i + 1, "into")
                && ident(i + 2)
                && (t(i + 3) == "(" || any_case(i + 3, "values") || any_case(i + 3, "select")))
            || (upper(i, "UPDATE") && ident(i + 1) && upper(i + 2, "SET"))
            || (any_case(i, "update")
                && ident(i + 1)
                && any_case(i + 2, "set")
                && ident(i + 3)
                && t(i + 4) == "=")
            || (upper(i, "DELETE") && upper(i + 1, "FROM"))
            || (any_case(i, "delete")
                && any_case(i + 1, "from")
                && ident(i + 2)
                && any_case(i + 3, "where"))
            || (["CREATE", "DROP", "ALTER"].iter().any(|w| any_case(i, w))
                && ["TABLE", "INDEX", "VIEW", "TRIGGER"].iter().any(|w| {
                    any_case(i + 1, w) || (any_case(i + 1, "UNIQUE") && any_case(i + 2, w))
                }))
            || upper(i, "PRAGMA") && ident(i + 1)
            || (upper(i, "WITH") && ident(i + 1) && upper(i + 2, "AS") && t(i + 3) == "(")
            || (upper(i, "ON") && upper(i + 1, "CONFLICT"))
    })
}

/// Words, and the symbols `(`, `=`, `*`, `;` as tokens of their own.
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
            continue;
        }
        if !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
        if "(=*;".contains(c) {
            out.push(c.to_string());
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

#[test]
fn the_sql_check_knows_sql_from_prose() {
    for sql in [
        "SELECT acl FROM scope_acls WHERE app_id = $1",
        "INSERT INTO tokens (hash, app_id) VALUES ($1, $2)",
        "UPDATE users SET password_hash = $1 WHERE id = $2",
        "DELETE FROM tokens WHERE expires_at <= $1",
        "CREATE INDEX tokens_expiry_idx ON tokens(expires_at)",
        "create table t (x int)",
        "ALTER TABLE dev_log_chunks ALTER COLUMN body SET COMPRESSION lz4",
        "PRAGMA journal_mode",
        "BEGIN IMMEDIATE",
        "COMMIT;",
        "WITH x AS (SELECT 1) SELECT * FROM x",
        "insert into users (id) values (?)",
        "update users set name = ?",
        "delete from users where id = 1",
        "select id from users where login = $1",
    ] {
        assert!(looks_like_sql(sql), "missed: {sql}");
    }
    for prose in [
        "GET, POST, PUT, DELETE, PATCH, HEAD, OPTIONS",
        "`DELETE /users/{ref}`: the user itself or the admin",
        "Select the objects from the bucket where you keep them",
        "insert into the list",
        "Please update your settings",
        "create a table of results",
        "The ACL does not grant {} to this caller",
        "Commit early and often",
        "begin",
    ] {
        assert!(!looks_like_sql(prose), "flagged prose: {prose}");
    }
}

#[test]
fn the_lexer_sees_code_literals_and_comments_apart() {
    let lexed = lex(concat!(
        "// sqlx in a comment is fine\n",
        "/* so is rusqlite /* nested */ */\n",
        "fn f<'a>(x: &'a str) -> char { let _ = \"SELECT 1 FROM t\"; ",
        "let _ = r#\"raw \"quoted\" text\"#; '\"' }\n",
        "use sqlx::Row;\n",
    ));
    assert!(!has_word(&lexed.code, "rusqlite"));
    assert!(has_word(&lexed.code, "sqlx"));
    assert_eq!(lexed.literals, ["SELECT 1 FROM t", "raw \"quoted\" text"]);
    assert_eq!(manifest_driver("sqlx.workspace = true"), Some("sqlx"));
    assert_eq!(
        manifest_driver(r#"db = { package = "rusqlite", version = "0.32" }"#),
        Some("rusqlite")
    );
    assert_eq!(manifest_driver("[dependencies.sqlx]"), Some("sqlx"));
    assert_eq!(manifest_driver("# sqlx = \"0.8\""), None);
    assert_eq!(manifest_driver("serde_json.workspace = true"), None);
}
