//! File references in a declarative document (`policyFile`, `valueFile`, `pemFile`, `keyFile`,
//! `pfxFile`), resolved into the inline properties they stand for. The caller supplies the
//! reader, so this crate stays free of I/O: the gateway's file source and `portico apply` read
//! relative to the document's folder. A document that still holds a file reference after
//! loading is refused by validation, so the control plane never sees a path it cannot read.

use crate::document::Document;
use crate::errors::{ConfigError, ConfigErrors};
use crate::secret::Secret;
use base64::Engine;

/// Why a referenced file could not be read (the reader's words).
pub type FileError = String;

/// Reads the file at a path relative to the document.
pub type FileReader<'a> = dyn FnMut(&str) -> Result<Vec<u8>, FileError> + 'a;

impl Document {
    /// Replaces every file reference with the file's content. Reports every unreadable file
    /// and every property given both inline and as a file.
    pub fn resolve_files(&mut self, read: &mut FileReader<'_>) -> Result<(), ConfigErrors> {
        let mut r = Resolver {
            read,
            errors: vec![],
        };
        r.text("", &mut self.policy, &mut self.policy_file, "policy");
        for (i, api) in self.apis.iter_mut().enumerate() {
            let at = format!("apis[{i}].");
            r.text(&at, &mut api.policy, &mut api.policy_file, "policy");
            for (j, op) in api.operations.iter_mut().enumerate() {
                let at = format!("apis[{i}].operations[{j}].");
                r.text(&at, &mut op.policy, &mut op.policy_file, "policy");
            }
        }
        for (i, p) in self.products.iter_mut().enumerate() {
            r.text(
                &format!("products[{i}]."),
                &mut p.policy,
                &mut p.policy_file,
                "policy",
            );
        }
        for (i, f) in self.policy_fragments.iter_mut().enumerate() {
            let mut value = (!f.value.is_empty()).then(|| std::mem::take(&mut f.value));
            r.text(
                &format!("policyFragments[{i}]."),
                &mut value,
                &mut f.value_file,
                "value",
            );
            f.value = value.unwrap_or_default();
        }
        for (i, c) in self.certificates.iter_mut().enumerate() {
            let at = format!("certificates[{i}].");
            r.text(&at, &mut c.pem, &mut c.pem_file, "pem");
            let mut key = c.key.take().map(|k| k.expose().to_owned());
            r.text(&at, &mut key, &mut c.key_file, "key");
            c.key = key.map(Secret::new);
            if let Some(bytes) = r.file(&at, &mut c.pfx_file, c.data.is_some(), "data") {
                let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
                c.data = Some(Secret::new(encoded));
            }
        }
        if r.errors.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors(r.errors))
        }
    }
}

struct Resolver<'r, 'a> {
    read: &'r mut FileReader<'a>,
    errors: Vec<ConfigError>,
}

impl Resolver<'_, '_> {
    /// Resolves `{field}File` into the text property `field`.
    fn text(
        &mut self,
        at: &str,
        inline: &mut Option<String>,
        file: &mut Option<String>,
        field: &str,
    ) {
        if let Some(bytes) = self.file(at, file, inline.is_some(), field) {
            match String::from_utf8(bytes) {
                Ok(text) => *inline = Some(text),
                Err(_) => self.errors.push(ConfigError::at(
                    format!("{at}{field}File"),
                    "the file is not UTF-8 text",
                )),
            }
        }
    }

    /// Reads the file a `{field}File` property names, taking the reference out.
    fn file(
        &mut self,
        at: &str,
        file: &mut Option<String>,
        inline_set: bool,
        field: &str,
    ) -> Option<Vec<u8>> {
        let name = file.take()?;
        let path = format!("{at}{field}File");
        if inline_set {
            self.errors.push(ConfigError::at(
                path,
                format!("set {field} or {field}File, not both"),
            ));
            return None;
        }
        match (self.read)(&name) {
            Ok(bytes) => Some(bytes),
            Err(e) => {
                self.errors
                    .push(ConfigError::at(path, format!("cannot read {name:?}: {e}")));
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Document, DocumentFormat};

    #[test]
    fn references_become_inline_values() {
        let mut doc = Document::parse(
            "policyFile: global.xml\napis:\n  - id: a\n    serviceUrl: http://x\n    policyFile: api.xml\n    operations:\n      - { id: o, method: GET, urlTemplate: /, policyFile: op.xml }\ncertificates:\n  - { id: c, pfxFile: c.pfx, password: p }\n",
            DocumentFormat::Yaml,
        )
        .unwrap();
        doc.resolve_files(&mut |name: &str| Ok(format!("<{name}>").into_bytes()))
            .unwrap();
        assert_eq!(doc.policy.as_deref(), Some("<global.xml>"));
        assert_eq!(doc.apis[0].policy.as_deref(), Some("<api.xml>"));
        assert_eq!(
            doc.apis[0].operations[0].policy.as_deref(),
            Some("<op.xml>")
        );
        assert_eq!(
            doc.certificates[0].data.as_ref().unwrap().expose(),
            "PGMucGZ4Pg=="
        );
        assert!(doc.apis[0].policy_file.is_none() && doc.certificates[0].pfx_file.is_none());
    }

    #[test]
    fn unreadable_and_doubled_references_are_reported_by_field() {
        let mut doc = Document::parse(
            "policy: '<policies/>'\npolicyFile: g.xml\nproducts:\n  - { id: p, policyFile: missing.xml }\n",
            DocumentFormat::Yaml,
        )
        .unwrap();
        let errs = doc
            .resolve_files(&mut |_: &str| Err("no such file".to_owned()))
            .unwrap_err();
        let text = errs.to_string();
        assert!(
            text.contains("policyFile: set policy or policyFile, not both"),
            "{text}"
        );
        assert!(
            text.contains("products[0].policyFile: cannot read \"missing.xml\": no such file"),
            "{text}"
        );
    }
}
