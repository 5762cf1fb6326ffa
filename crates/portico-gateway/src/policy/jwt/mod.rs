//! `validate-jwt`: the token is read from its source, its signature verified (keys from the
//! policy or OpenID discovery, [`keys`], [`openid`]), its claims checked ([`claims`]); a
//! refusal fails the pipeline with APIM's reason code and answers the configured status and
//! message. The token itself is never logged.

mod claims;
mod keys;
mod openid;

use super::eval::{param, text};
use super::execute::Run;
use super::failure::Failure;
use crate::errors::GatewayError;
use base64::Engine;
use claims::Refusal;
use http::StatusCode;
use jsonwebtoken::{Algorithm, Validation};
use keys::{Key, PolicyKeys};
use openid::OpenId;
use portico_policy::expr::{Jwt, Value};
use portico_policy::policies::{TokenSource, ValidateJwt};
use serde_json::Map;
use std::sync::Arc;
use std::time::UNIX_EPOCH;

/// A `validate-jwt` compiled with its snapshot.
#[derive(Debug)]
pub struct JwtCheck {
    policy: ValidateJwt,
    keys: PolicyKeys,
    openid: Vec<OpenId>,
}

impl JwtCheck {
    pub fn new(policy: &ValidateJwt) -> Result<Self, String> {
        Ok(Self {
            keys: PolicyKeys::new(&policy.keys)?,
            openid: policy
                .openid_configs
                .iter()
                .map(|u| OpenId::new(u))
                .collect::<Result<_, _>>()?,
            policy: policy.clone(),
        })
    }
}

/// A token split into its parts, header decoded.
struct Parts<'t> {
    header: Map<String, serde_json::Value>,
    payload: &'t str,
}

fn b64_json(part: &str) -> Option<Map<String, serde_json::Value>> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        serde_json::Value::Object(m) => Some(m),
        _ => None,
    }
}

fn split(token: &str) -> Option<Parts<'_>> {
    let mut it = token.split('.');
    let (h, p, _sig) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() {
        return None; // five parts: an encrypted token
    }
    Some(Parts {
        header: b64_json(h)?,
        payload: p,
    })
}

fn invalid(message: &str) -> Refusal {
    ("TokenInvalid", message.to_owned())
}

impl Run<'_, '_> {
    pub(in crate::policy) async fn validate_jwt(
        &mut self,
        check: &JwtCheck,
    ) -> Result<(), Failure> {
        match self.verify(check).await {
            Ok(token) => {
                if let Some(name) = &check.policy.output_token_variable_name {
                    self.st.set_variable(name, Value::Jwt(Arc::new(token)));
                }
                Ok(())
            }
            Err((reason, detail)) => Err(self.refusal(check, reason, detail)?),
        }
    }

    /// The failure a refusal becomes: APIM's reason, the configured status and message.
    fn refusal(
        &mut self,
        check: &JwtCheck,
        reason: &'static str,
        detail: String,
    ) -> Result<Failure, Failure> {
        let p = &check.policy;
        let status = param(&p.failed_status, &mut self.cx())?;
        let message = match &p.failed_message {
            Some(m) => text(m, &mut self.cx())?.into_owned(),
            None if reason == "TokenNotPresent" => "JWT not present.".to_owned(),
            None => "Invalid JWT.".to_owned(),
        };
        Ok(Failure {
            reason,
            message: format!("JWT Validation Failed: {detail}"),
            answer: GatewayError::PolicyRefused {
                // Only an error status can refuse a request; anything else falls back to 401.
                status: StatusCode::from_u16(status)
                    .ok()
                    .filter(|s| s.is_client_error() || s.is_server_error())
                    .unwrap_or(StatusCode::UNAUTHORIZED),
                message,
            },
        })
    }

    /// The token, if it passes every check.
    async fn verify(&mut self, check: &JwtCheck) -> Result<Jwt, Refusal> {
        let p = &check.policy;
        let token = self.token(p).map_err(|f| ("TokenInvalid", f.message))?;
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return Err(("TokenNotPresent", "JWT not present.".into()));
        };
        let parts = split(&token).ok_or_else(|| invalid("The token is not a well-formed JWT."))?;
        let alg = parts
            .header
            .get("alg")
            .and_then(|a| a.as_str())
            .unwrap_or("");
        let require_signed =
            param(&p.require_signed_tokens, &mut self.cx()).map_err(|f| invalid(&f.message))?;
        let claims = if alg.eq_ignore_ascii_case("none") && !require_signed {
            b64_json(parts.payload).ok_or_else(|| invalid("The token's claims are not JSON."))?
        } else {
            let alg = keys::algorithm(alg).ok_or((
                "TokenSignatureInvalid",
                format!("The token's algorithm `{alg}` is not accepted."),
            ))?;
            let kid = parts.header.get("kid").and_then(|k| k.as_str());
            self.signed_claims(check, &token, alg, kid).await?
        };
        self.check_claims(p, &claims)?;
        Ok(Jwt {
            header: parts.header,
            claims,
        })
    }

    /// The token text from its source, the scheme checked and removed.
    fn token(&mut self, p: &ValidateJwt) -> Result<Option<String>, Failure> {
        let raw = match &p.source {
            TokenSource::Header(name) => {
                let name = text(name, &mut self.cx())?;
                self.st
                    .headers
                    .get(name.as_ref())
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_owned())
            }
            TokenSource::Query(name) => {
                let name = text(name, &mut self.cx())?.into_owned();
                super::query::values(self.st.query.as_deref(), &name)
                    .and_then(|v| v.into_iter().next())
            }
            TokenSource::Value(v) => Some(text(v, &mut self.cx())?.trim().to_owned()),
        };
        let Some(raw) = raw else { return Ok(None) };
        let scheme = match &p.require_scheme {
            Some(s) => Some(text(s, &mut self.cx())?.into_owned()),
            None => None,
        };
        let strip = |s: &str| {
            let (word, rest) = raw.split_once(' ')?;
            word.eq_ignore_ascii_case(s).then(|| rest.trim().to_owned())
        };
        Ok(match scheme {
            // A required scheme that is absent leaves no token.
            Some(s) => strip(&s).or(Some(String::new())),
            // Without a required scheme a `Bearer ` prefix is still understood.
            None => Some(strip("Bearer").unwrap_or(raw.clone())),
        })
    }

    /// Verifies the signature with a key that fits and returns the claims.
    async fn signed_claims(
        &mut self,
        check: &JwtCheck,
        token: &str,
        alg: Algorithm,
        kid: Option<&str>,
    ) -> Result<Map<String, serde_json::Value>, Refusal> {
        let mut candidates: Vec<Key> = check.keys.fixed.clone();
        for (id, t) in &check.keys.computed {
            let text = text(t, &mut self.cx()).map_err(|f| invalid(&f.message))?;
            candidates.push(Key::symmetric(id.clone(), &text).map_err(|m| invalid(&m))?);
        }
        let fits = |keys: &[Key]| keys.iter().any(|k| k.fits(kid, alg));
        for source in &check.openid {
            let mut keys = source.keys(&self.shared.upstreams, false).await;
            if !fits(&keys) && kid.is_some() {
                // A new key id: the provider may have rotated its keys.
                keys = source.keys(&self.shared.upstreams, true).await;
            }
            candidates.extend(keys.iter().cloned());
        }
        let mut validation = Validation::new(alg);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let mut tried = false;
        for key in candidates.iter().filter(|k| k.fits(kid, alg)) {
            tried = true;
            if let Ok(data) =
                jsonwebtoken::decode::<Map<String, serde_json::Value>>(token, &key.key, &validation)
            {
                return Ok(data.claims);
            }
        }
        if tried {
            Err((
                "TokenSignatureInvalid",
                "Signature validation failed.".into(),
            ))
        } else {
            Err((
                "TokenSignatureKeyNotFound",
                "No signing key fits the token.".into(),
            ))
        }
    }

    fn check_claims(
        &mut self,
        p: &ValidateJwt,
        c: &Map<String, serde_json::Value>,
    ) -> Result<(), Refusal> {
        let fail = |f: Failure| invalid(&f.message);
        let now = (self.env.clock)()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let skew = param(&p.clock_skew, &mut self.cx()).map_err(fail)?;
        let require_exp = param(&p.require_expiration_time, &mut self.cx()).map_err(fail)?;
        claims::lifetime(c, now, i64::from(skew), require_exp)?;
        let audiences = self.texts_of(&p.audiences).map_err(fail)?;
        claims::audience(c, &audiences)?;
        let issuers = self.texts_of(&p.issuers).map_err(fail)?;
        claims::issuer(c, &issuers)?;
        for claim in &p.required_claims {
            let values = self.texts_of(&claim.values).map_err(fail)?;
            let sep = claim.separator.as_deref();
            claims::required(c, &claim.name, sep, claim.match_all, &values)?;
        }
        Ok(())
    }

    fn texts_of(&mut self, ts: &[portico_policy::Template]) -> Result<Vec<String>, Failure> {
        ts.iter()
            .map(|t| text(t, &mut self.cx()).map(|s| s.into_owned()))
            .collect()
    }
}
