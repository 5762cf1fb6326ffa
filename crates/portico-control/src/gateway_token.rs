//! Gateway access tokens, as APIM's self-hosted gateways use them: the gateway sends
//! `Authorization: GatewayKey {gatewayId}&{expiry}&{signature}`, where `expiry` is UTC as
//! `yyyyMMddHHmm` and `signature` is the base64 HMAC-SHA512, keyed with one of the gateway's
//! two keys, of `"{gatewayId}\n{expiry}"`. Tokens last at most 30 days; regenerating a key
//! invalidates every token signed with it, because verification tries the current keys only.

use aws_lc_rs::hmac;
use base64::Engine;
use time::macros::format_description;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

/// The longest a token may live.
pub const MAX_LIFETIME: Duration = Duration::days(30);

/// Why a token was refused. Messages never include the token or a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is not GatewayKey {{gatewayId}}&{{yyyyMMddHHmm}}&{{signature}}")]
    Malformed,
    #[error("the token has expired; generate a new one (POST /gateways/{{id}}/generateToken)")]
    Expired,
    #[error("the token's signature does not match either of the gateway's keys (was a key regenerated?)")]
    BadSignature,
}

/// Why a token cannot be generated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpiryError {
    #[error("expiry must be in the future")]
    Past,
    #[error("expiry may be at most 30 days ahead")]
    TooFar,
}

/// A token for `gateway_id`, signed with `key`, valid until `expiry` (to the minute).
pub fn generate(
    gateway_id: &str,
    key: &str,
    expiry: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<String, ExpiryError> {
    if expiry <= now {
        return Err(ExpiryError::Past);
    }
    if expiry - now > MAX_LIFETIME {
        return Err(ExpiryError::TooFar);
    }
    let stamp = expiry_stamp(expiry);
    Ok(format!(
        "{gateway_id}&{stamp}&{}",
        signature(gateway_id, &stamp, key)
    ))
}

/// Checks a token (the part after `GatewayKey `) against the gateway's current keys and
/// returns the gateway id it names. The caller looks the keys up by that id first; see
/// [`gateway_id_of`].
pub fn verify(token: &str, keys: &[&str], now: OffsetDateTime) -> Result<String, TokenError> {
    let (id, stamp, sig) = split(token)?;
    if expiry_of(token)? <= now {
        return Err(TokenError::Expired);
    }
    let given = base64::engine::general_purpose::STANDARD
        .decode(sig)
        .map_err(|_| TokenError::Malformed)?;
    let message = format!("{id}\n{stamp}");
    let valid = keys.iter().any(|key| {
        let k = hmac::Key::new(hmac::HMAC_SHA512, key.as_bytes());
        hmac::verify(&k, message.as_bytes(), &given).is_ok()
    });
    if valid {
        Ok(id.to_owned())
    } else {
        Err(TokenError::BadSignature)
    }
}

/// When a token stops being valid (its signature unchecked).
pub fn expiry_of(token: &str) -> Result<OffsetDateTime, TokenError> {
    let (_, stamp, _) = split(token)?;
    Ok(PrimitiveDateTime::parse(stamp, STAMP)
        .map_err(|_| TokenError::Malformed)?
        .assume_utc())
}

/// The gateway id a token claims, so the verifier can look up that gateway's keys.
pub fn gateway_id_of(token: &str) -> Result<&str, TokenError> {
    split(token).map(|(id, _, _)| id)
}

const STAMP: &[time::format_description::FormatItem<'static>] =
    format_description!("[year][month][day][hour][minute]");

fn expiry_stamp(expiry: OffsetDateTime) -> String {
    expiry
        .to_offset(time::UtcOffset::UTC)
        .format(STAMP)
        .expect("a UTC date always formats")
}

fn signature(id: &str, stamp: &str, key: &str) -> String {
    let k = hmac::Key::new(hmac::HMAC_SHA512, key.as_bytes());
    let tag = hmac::sign(&k, format!("{id}\n{stamp}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(tag.as_ref())
}

fn split(token: &str) -> Result<(&str, &str, &str), TokenError> {
    // Gateway ids may not contain '&' (see the path rules), so the split is unambiguous.
    let mut parts = token.splitn(3, '&');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(id), Some(stamp), Some(sig)) if !id.is_empty() && stamp.len() == 12 => {
            Ok((id, stamp, sig))
        }
        _ => Err(TokenError::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
    }

    #[test]
    fn a_token_verifies_with_either_current_key_until_it_expires() {
        let token = generate("edge", "key-one", now() + Duration::days(1), now()).unwrap();
        assert!(token.starts_with("edge&"), "{token}");
        assert_eq!(
            verify(&token, &["other", "key-one"], now()),
            Ok("edge".into())
        );
        assert_eq!(gateway_id_of(&token), Ok("edge"));
        assert_eq!(
            verify(&token, &["key-one"], now() + Duration::days(2)),
            Err(TokenError::Expired)
        );
        assert_eq!(
            verify(&token, &["regenerated"], now()),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn tampering_and_bad_expiries_are_refused() {
        let token = generate("edge", "k", now() + Duration::hours(1), now()).unwrap();
        let forged = token.replacen("edge", "core", 1);
        assert_eq!(
            verify(&forged, &["k"], now()),
            Err(TokenError::BadSignature)
        );
        assert_eq!(verify("edge&x", &["k"], now()), Err(TokenError::Malformed));
        assert_eq!(
            generate("edge", "k", now() - Duration::minutes(1), now()),
            Err(ExpiryError::Past)
        );
        assert_eq!(
            generate("edge", "k", now() + Duration::days(31), now()),
            Err(ExpiryError::TooFar)
        );
    }
}
