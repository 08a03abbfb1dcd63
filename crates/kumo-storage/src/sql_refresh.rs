//! Refresh tokens, for [`SqlStore`]: stored with the access token they may replace, and
//! exchanged at most once (the exchange deletes the row it read, in one transaction with the
//! new pair, so two racing exchanges of one token cannot both succeed).

use sqlx::{AnyConnection, Row};

use crate::sql::SqlStore;
use crate::tx::in_transaction;
use crate::{Invalidation, RefreshToken, Result, Token};

impl SqlStore {
    pub(crate) async fn do_insert_token_with_refresh(
        &self,
        token: &Token,
        refresh: &RefreshToken,
    ) -> Result<()> {
        in_transaction(&self.write, async |tx| {
            insert_access(tx, token).await?;
            insert_refresh(tx, refresh).await
        })
        .await
    }

    pub(crate) async fn do_rotate_refresh_token(
        &self,
        app_id: &str,
        hash: &str,
        access_hash: &str,
        refresh_hash: &str,
        now_ms: i64,
    ) -> Result<Option<(Token, RefreshToken)>> {
        in_transaction(&self.write, async |tx| {
            let Some(row) = sqlx::query(
                "DELETE FROM refresh_tokens WHERE hash = $1 AND app_id = $2 \
                 RETURNING user_id, access_hash, lifetime_ms",
            )
            .bind(hash)
            .bind(app_id)
            .fetch_optional(&mut *tx)
            .await?
            else {
                return Ok(None);
            };
            let user_id: String = row.try_get("user_id")?;
            let old_access: String = row.try_get("access_hash")?;
            let lifetime_ms: i64 = row.try_get("lifetime_ms")?;
            sqlx::query("DELETE FROM tokens WHERE hash = $1 AND app_id = $2")
                .bind(&old_access)
                .bind(app_id)
                .execute(&mut *tx)
                .await?;
            // The old token is gone from every node's cache with its user's.
            self.notify(
                tx,
                Invalidation::UserTokens {
                    app_id: app_id.to_owned(),
                    user_id: user_id.clone(),
                },
            )
            .await?;
            // A user disabled or deleted since cannot renew; the exchange still spends the
            // refresh token.
            let active = sqlx::query("SELECT disabled FROM users WHERE app_id = $1 AND id = $2")
                .bind(app_id)
                .bind(&user_id)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get::<i64, _>(0))
                .transpose()?
                .is_some_and(|disabled| disabled == 0);
            if !active {
                return Ok(None);
            }
            let token = Token {
                hash: access_hash.to_owned(),
                app_id: app_id.to_owned(),
                user_id: Some(user_id.clone()),
                thing_id: None,
                expires_at: Some(now_ms.saturating_add(lifetime_ms)),
                created_at: now_ms,
            };
            let refresh = RefreshToken {
                hash: refresh_hash.to_owned(),
                app_id: app_id.to_owned(),
                user_id,
                access_hash: access_hash.to_owned(),
                lifetime_ms,
                created_at: now_ms,
            };
            insert_access(tx, &token).await?;
            insert_refresh(tx, &refresh).await?;
            Ok(Some((token, refresh)))
        })
        .await
    }
}

async fn insert_access(tx: &mut AnyConnection, token: &Token) -> Result<()> {
    sqlx::query(
        "INSERT INTO tokens (hash, app_id, user_id, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&token.hash)
    .bind(&token.app_id)
    .bind(&token.user_id)
    .bind(token.expires_at)
    .bind(token.created_at)
    .execute(tx)
    .await?;
    Ok(())
}

async fn insert_refresh(tx: &mut AnyConnection, refresh: &RefreshToken) -> Result<()> {
    sqlx::query(
        "INSERT INTO refresh_tokens (hash, app_id, user_id, access_hash, lifetime_ms, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&refresh.hash)
    .bind(&refresh.app_id)
    .bind(&refresh.user_id)
    .bind(&refresh.access_hash)
    .bind(refresh.lifetime_ms)
    .bind(refresh.created_at)
    .execute(tx)
    .await?;
    Ok(())
}
