//! `System.Security.Cryptography` as APIM policies use it: `new HMACSHA256(key)` (and SHA-1,
//! SHA-384, SHA-512) with a settable `Key`, `SHA256.Create()` (and SHA-1, SHA-384, SHA-512,
//! MD5), `ComputeHash`, the static `HashData`, `Aes.Create()` with `Key`/`IV`, and APIM's
//! `byte[].Encrypt`/`Decrypt` extension methods, which run AES (alias Rijndael) in CBC mode with
//! PKCS7 padding: APIM's defaults, and the only mode and padding Portico offers.
//!
//! Built on aws-lc-rs, which the gateway already links for TLS and JWT, so no second crypto
//! stack is compiled; MD5, which aws-lc-rs does not expose, comes from RustCrypto's `md-5`.
//! Key material never appears in error messages nor in `Debug` output.

use std::fmt;
use std::sync::{Arc, Mutex};

use aws_lc_rs::cipher::{
    self, DecryptionContext, EncryptionContext, PaddedBlockDecryptingKey, PaddedBlockEncryptingKey,
    UnboundCipherKey,
};
use aws_lc_rs::{digest, hmac};
use md5::Digest as _;

use super::super::convert::need_bytes;
use super::super::error::EvalError;
use super::super::types::CryptoClass;
use super::super::value::{lock, Value};
use super::Call;

type Found = Result<Option<Value>, EvalError>;

const AES_BLOCK: usize = 16;

/// A hash, HMAC or AES object. `key` is the HMAC or AES key, `iv` the AES IV.
pub struct CryptoObj {
    pub class: CryptoClass,
    key: Vec<u8>,
    iv: Vec<u8>,
}

impl fmt::Debug for CryptoObj {
    // Keys and IVs are secrets: never printed, not even in debug output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CryptoObj")
            .field("class", &self.class)
            .finish_non_exhaustive()
    }
}

fn object(class: CryptoClass, key: Vec<u8>, iv: Vec<u8>) -> Value {
    Value::Crypto(Arc::new(Mutex::new(CryptoObj { class, key, iv })))
}

/// Fresh random bytes, as .NET gives a new HMAC or AES object when no key is passed.
fn random(n: usize) -> Result<Vec<u8>, EvalError> {
    let mut bytes = vec![0; n];
    aws_lc_rs::rand::fill(&mut bytes)
        .map_err(|_| EvalError::msg("the system random generator failed"))?;
    Ok(bytes)
}

/// .NET's default HMAC key length: the hash's block size.
fn hmac_block(class: CryptoClass) -> usize {
    match class {
        CryptoClass::HmacSha384 | CryptoClass::HmacSha512 => 128,
        _ => 64,
    }
}

/// `new HMACSHA256()` / `new HMACSHA256(byte[] key)`.
pub fn construct(class: CryptoClass, args: &[Value]) -> Result<Value, EvalError> {
    let key = match args {
        [] => random(hmac_block(class))?,
        [key] => need_bytes(key, "the HMAC key")?,
        _ => {
            return Err(EvalError::msg(format!(
                "`new {}(…)` takes a key",
                class.name()
            )))
        }
    };
    Ok(object(class, key, Vec::new()))
}

/// `SHA256.Create()`, `Aes.Create()`, `SHA256.HashData(data)`, `HMACSHA256.HashData(key, data)`.
pub fn static_call(class: CryptoClass, call: &Call<'_>) -> Found {
    Ok(Some(match (call.name, call.args.as_slice()) {
        ("Create", []) if class == CryptoClass::Aes => object(class, random(32)?, random(16)?),
        ("Create", []) if !class.is_hmac() => object(class, Vec::new(), Vec::new()),
        ("HashData", [data]) if !class.is_hmac() && class != CryptoClass::Aes => {
            Value::bytes(&hash(class, &[], &need_bytes(data, "the data")?)?)
        }
        ("HashData", [key, data]) if class.is_hmac() => Value::bytes(&hash(
            class,
            &need_bytes(key, "the HMAC key")?,
            &need_bytes(data, "the data")?,
        )?),
        _ => return Ok(None),
    }))
}

fn hash(class: CryptoClass, key: &[u8], data: &[u8]) -> Result<Vec<u8>, EvalError> {
    let mac = |alg| {
        hmac::sign(&hmac::Key::new(alg, key), data)
            .as_ref()
            .to_vec()
    };
    let dig = |alg| digest::digest(alg, data).as_ref().to_vec();
    Ok(match class {
        CryptoClass::HmacSha1 => mac(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY),
        CryptoClass::HmacSha256 => mac(hmac::HMAC_SHA256),
        CryptoClass::HmacSha384 => mac(hmac::HMAC_SHA384),
        CryptoClass::HmacSha512 => mac(hmac::HMAC_SHA512),
        CryptoClass::Sha1 => dig(&digest::SHA1_FOR_LEGACY_USE_ONLY),
        CryptoClass::Sha256 => dig(&digest::SHA256),
        CryptoClass::Sha384 => dig(&digest::SHA384),
        CryptoClass::Sha512 => dig(&digest::SHA512),
        CryptoClass::Md5 => md5::Md5::digest(data).to_vec(),
        CryptoClass::Aes => return Err(EvalError::msg("Aes does not compute hashes")),
    })
}

/// `Key`, `IV`, `HashSize`.
pub fn member(v: &Value, name: &str) -> Option<Value> {
    let Value::Crypto(obj) = v else { return None };
    let obj = lock(obj);
    match name {
        "Key" if obj.class.is_hmac() || obj.class == CryptoClass::Aes => {
            Some(Value::bytes(&obj.key))
        }
        "IV" if obj.class == CryptoClass::Aes => Some(Value::bytes(&obj.iv)),
        "HashSize" if obj.class != CryptoClass::Aes => {
            let len = hash(obj.class, &[], &[]).map_or(0, |h| h.len());
            Some(Value::Int(len as i32 * 8))
        }
        _ => None,
    }
}

/// Whether `class` has a settable property `name` (object initializers, `x.Key = …`).
pub fn settable(class: CryptoClass, name: &str) -> bool {
    match name {
        "Key" => class.is_hmac() || class == CryptoClass::Aes,
        "IV" => class == CryptoClass::Aes,
        _ => false,
    }
}

/// `hmac.Key = bytes`, `aes.IV = bytes`; AES sizes are checked as .NET does, on assignment.
pub fn set_member(obj: &Mutex<CryptoObj>, name: &str, v: &Value) -> Result<(), EvalError> {
    let mut obj = lock(obj);
    if !settable(obj.class, name) {
        return Err(EvalError::msg(format!(
            "{}.{name} cannot be assigned",
            obj.class.name()
        )));
    }
    let bytes = need_bytes(v, &format!("the {name}"))?;
    if obj.class == CryptoClass::Aes {
        match name {
            "Key" => aes_key_alg(bytes.len()).map(drop)?,
            _ => aes_iv(&bytes).map(drop)?,
        }
    }
    match name {
        "Key" => obj.key = bytes,
        _ => obj.iv = bytes,
    }
    Ok(())
}

/// Methods of hash, HMAC and AES objects.
pub fn method(v: &Value, call: &Call<'_>) -> Found {
    let Value::Crypto(obj) = v else {
        return Ok(None);
    };
    let (class, key) = {
        let o = lock(obj);
        (o.class, o.key.clone())
    };
    Ok(Some(match (call.name, call.args.as_slice()) {
        ("ComputeHash", [data]) if class != CryptoClass::Aes => {
            Value::bytes(&hash(class, &key, &need_bytes(data, "the data")?)?)
        }
        // Nothing to release: disposal is accepted and does nothing.
        ("Dispose" | "Clear", []) => Value::Null,
        ("EncryptCbc" | "DecryptCbc", [data, iv]) if class == CryptoClass::Aes => {
            let data = need_bytes(data, "the data")?;
            let iv = need_bytes(iv, "the IV")?;
            Value::bytes(&aes_cbc(call.name == "EncryptCbc", &key, &iv, &data)?)
        }
        _ => return Ok(None),
    }))
}

/// APIM's `byte[].Encrypt(alg, key, iv)`, `Encrypt(SymmetricAlgorithm)`,
/// `Encrypt(SymmetricAlgorithm, key, iv)`, and the same for `Decrypt`.
pub fn byte_method(v: &Value, call: &Call<'_>) -> Found {
    let encrypt = match call.name {
        "Encrypt" => true,
        "Decrypt" => false,
        _ => return Ok(None),
    };
    let data = need_bytes(v, "the input")?;
    let (key, iv) = match call.args.as_slice() {
        [Value::Str(alg), key, iv] => {
            check_algorithm(alg)?;
            (need_bytes(key, "the key")?, need_bytes(iv, "the IV")?)
        }
        [Value::Crypto(obj), rest @ ..] => {
            let (class, own_key, own_iv) = {
                let o = lock(obj);
                (o.class, o.key.clone(), o.iv.clone())
            };
            if class != CryptoClass::Aes {
                return Err(EvalError::msg(format!(
                    "`{}` needs a symmetric algorithm such as Aes.Create(), not {}",
                    call.name,
                    class.name()
                )));
            }
            match rest {
                [] => (own_key, own_iv),
                [key, iv] => (need_bytes(key, "the key")?, need_bytes(iv, "the IV")?),
                _ => return Err(encrypt_usage(call.name)),
            }
        }
        _ => return Err(encrypt_usage(call.name)),
    };
    Ok(Some(Value::bytes(&aes_cbc(encrypt, &key, &iv, &data)?)))
}

fn encrypt_usage(name: &str) -> EvalError {
    EvalError::msg(format!(
        "`{name}` takes (string algorithm, byte[] key, byte[] iv), (SymmetricAlgorithm) or (SymmetricAlgorithm, byte[] key, byte[] iv)"
    ))
}

/// The algorithm names .NET's `SymmetricAlgorithm.Create` maps to AES (Rijndael with 128-bit
/// blocks is AES); any other algorithm is refused.
fn check_algorithm(alg: &str) -> Result<(), EvalError> {
    let lower = alg.to_ascii_lowercase();
    let short = lower
        .strip_prefix("system.security.cryptography.")
        .unwrap_or(&lower);
    match short {
        "aes" | "rijndael" | "aesmanaged" | "rijndaelmanaged" | "aescryptoserviceprovider" => {
            Ok(())
        }
        _ => Err(EvalError::msg(format!(
            "encryption algorithm `{alg}` is not supported: Portico encrypts with \"Aes\" (or \"Rijndael\") in CBC mode with PKCS7 padding only"
        ))),
    }
}

fn aes_key_alg(len: usize) -> Result<&'static cipher::Algorithm, EvalError> {
    match len {
        16 => Ok(&cipher::AES_128),
        24 => Ok(&cipher::AES_192),
        32 => Ok(&cipher::AES_256),
        n => Err(EvalError::msg(format!(
            "the AES key must be 16, 24 or 32 bytes long, not {n}"
        ))),
    }
}

fn aes_iv(iv: &[u8]) -> Result<[u8; AES_BLOCK], EvalError> {
    iv.try_into().map_err(|_| {
        EvalError::msg(format!(
            "the AES IV must be {AES_BLOCK} bytes long, not {}",
            iv.len()
        ))
    })
}

/// AES-CBC with PKCS7 padding.
fn aes_cbc(encrypt: bool, key: &[u8], iv: &[u8], data: &[u8]) -> Result<Vec<u8>, EvalError> {
    let alg = aes_key_alg(key.len())?;
    let iv = aes_iv(iv)?;
    let failed = || EvalError::msg("the AES key could not be used");
    let key = UnboundCipherKey::new(alg, key).map_err(|_| failed())?;
    let mut buf = data.to_vec();
    if encrypt {
        PaddedBlockEncryptingKey::cbc_pkcs7(key)
            .and_then(|k| k.less_safe_encrypt(&mut buf, EncryptionContext::Iv128(iv.into())))
            .map_err(|_| failed())?;
        return Ok(buf);
    }
    let k = PaddedBlockDecryptingKey::cbc_pkcs7(key).map_err(|_| failed())?;
    // .NET's message for a wrong key, IV or truncated input, none of which can be told apart.
    let len = k
        .decrypt(&mut buf, DecryptionContext::Iv128(iv.into()))
        .map_err(|_| EvalError::msg("decryption failed: padding is invalid and cannot be removed"))?
        .len();
    buf.truncate(len);
    Ok(buf)
}
