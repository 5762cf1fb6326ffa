//! Random secrets: subscription keys and admin tokens. 64 hex characters (256 bits) from two
//! v4 UUIDs, whose generator is a cryptographically secure one seeded by the operating system.

/// A new random key.
pub fn random_key() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}
