//! `<validate-client-certificate>`: APIM's attributes and defaults, identities read into
//! comparable form, and refusals (revocation, expressions, unknown or malformed attributes)
//! with line and column.

use portico_policy::policies::{DistinguishedName, Policy, ValidateClientCertificate};
use portico_policy::{PolicyDocument, Position, Section};

fn inbound(body: &str) -> String {
    format!("<policies>\n<inbound>\n{body}\n</inbound>\n</policies>")
}

fn parsed(body: &str) -> ValidateClientCertificate {
    let doc = PolicyDocument::parse(&inbound(body)).unwrap_or_else(|e| panic!("{e}"));
    match &doc.section(Section::Inbound).unwrap()[0].policy {
        Policy::ValidateClientCertificate(v) => (**v).clone(),
        other => panic!("{}", other.name()),
    }
}

fn messages(body: &str) -> Vec<String> {
    PolicyDocument::parse(&inbound(body))
        .expect_err("the policy should be refused")
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn reads_the_documented_attributes_and_identities() {
    // Thumbprints as certificate viewers copy them: colons, spaces, a left-to-right mark.
    let copied = "\u{200e}ab:cd:ef:01:23:45:67:89:ab:cd ef 01 23 45 67 89 ab cd ef 01";
    let v = parsed(&format!(
        r#"<validate-client-certificate validate-revocation="false" validate-trust="false" validate-not-before="False" validate-not-after="true" ignore-error="true">
    <identities>
        <identity thumbprint="{copied}" serial-number="00 7F 01" common-name=" Client 01 " />
        <identity subject='C=US, ST=Illinois, O="Contoso, Inc.", CN=*.contoso.com' issuer-subject="CN=Root" issuer-thumbprint="0123456789ABCDEF0123456789ABCDEF01234567" dns-name="api.example.com." />
        <identity issuer-certificate-id="issuing-ca" />
    </identities>
</validate-client-certificate>"#
    ));
    assert!(!v.validate_trust && !v.validate_not_before && v.validate_not_after && v.ignore_error);
    assert_eq!(v.identities.len(), 3);
    let first = &v.identities[0];
    assert_eq!(first.position, Position::new(5, 9));
    assert_eq!(
        first.thumbprint.as_deref(),
        Some("ABCDEF0123456789ABCDEF0123456789ABCDEF01")
    );
    assert_eq!(first.serial_number.as_deref(), Some("7F01"));
    assert_eq!(first.common_name.as_deref(), Some("Client 01"));
    let second = &v.identities[1];
    assert_eq!(
        second.subject,
        Some(DistinguishedName(vec![
            ("C".into(), "US".into()),
            ("S".into(), "Illinois".into()),
            ("O".into(), "Contoso, Inc.".into()),
            ("CN".into(), "*.contoso.com".into()),
        ]))
    );
    assert_eq!(second.dns_name.as_deref(), Some("api.example.com"));
    assert_eq!(
        v.identities[2].issuer_certificate_id.as_deref(),
        Some("issuing-ca")
    );
}

#[test]
fn defaults_are_apims_and_identities_are_optional() {
    let v = parsed(r#"<validate-client-certificate validate-revocation="false" />"#);
    assert!(v.validate_trust && v.validate_not_before && v.validate_not_after);
    assert!(!v.ignore_error);
    assert!(v.identities.is_empty());
}

#[test]
fn a_revocation_check_is_refused_whether_written_or_defaulted() {
    let written = messages(r#"<validate-client-certificate validate-revocation="true" />"#);
    assert_eq!(written.len(), 1, "{written:#?}");
    assert!(
        written[0].starts_with("line 3, column 1: <validate-client-certificate>: validate-revocation=\"true\" asks for a revocation check, which Portico cannot do"),
        "{written:#?}"
    );
    assert!(written[0].contains("write validate-revocation=\"false\""));
    let defaulted = messages(r#"<validate-client-certificate validate-trust="true" />"#);
    assert_eq!(defaulted.len(), 1, "{defaulted:#?}");
    assert!(
        defaulted[0].contains("(APIM's default is true)"),
        "{defaulted:#?}"
    );
}

#[test]
fn refusals_have_line_column_and_say_what_is_wrong() {
    let got = messages(
        r#"<validate-client-certificate validate-revocation="false" validate-trust="@(true)" colour="red">
    <identities>
        <identity thumbprint="abc" />
        <identity serial-number="xyz" common-name="@(context.Api.Name)" />
        <identity subject="Client 01" />
        <identity issuer-certificate-id="ca" issuer-thumbprint="0123456789ABCDEF0123456789ABCDEF01234567" />
        <identity />
        <identity email="a@b" />
    </identities>
    <identity thumbprint="0123456789ABCDEF0123456789ABCDEF01234567" />
</validate-client-certificate>"#,
    );
    let expected = [
        "line 3, column 1: <validate-client-certificate>: validate-trust must be true or false, not an expression",
        "line 3, column 83: <validate-client-certificate>: unknown attribute colour",
        "line 5, column 9: <identity>: thumbprint must be a certificate's SHA-1 thumbprint: 40 hexadecimal digits, not `abc`",
        "line 6, column 39: <identity>: common-name must be a fixed value, not an expression",
        "line 6, column 9: <identity>: serial-number must be the certificate's serial number in hexadecimal, not `xyz`",
        "line 7, column 9: <identity>: subject is not a distinguished name: `Client 01` has no `=`",
        "line 8, column 9: <identity>: issuer-certificate-id cannot be combined with issuer-subject or issuer-thumbprint",
        "line 9, column 9: <identity>: an <identity> needs at least one attribute",
        "line 10, column 19: <identity>: unknown attribute email: expected thumbprint, serial-number, common-name, subject, dns-name, issuer-subject, issuer-thumbprint, issuer-certificate-id",
        "line 12, column 5: <identity>: <validate-client-certificate> holds one <identities> element only",
    ];
    assert_eq!(got.len(), expected.len(), "{got:#?}");
    for e in expected {
        assert!(
            got.iter().any(|g| g.starts_with(e)),
            "missing {e} in {got:#?}"
        );
    }
}

#[test]
fn it_belongs_in_inbound() {
    let xml = r#"<policies><outbound><validate-client-certificate validate-revocation="false" /></outbound></policies>"#;
    let e = PolicyDocument::parse(xml).unwrap_err().to_string();
    assert!(
        e.contains(
            "<validate-client-certificate>: not allowed in <outbound>: APIM allows it in <inbound>"
        ),
        "{e}"
    );
}
