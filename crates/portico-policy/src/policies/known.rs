//! Names of APIM policies (from Microsoft's policy reference) that Portico does not implement
//! yet, so that they are refused as "not supported" rather than "unknown".

const NOT_YET: &[&str] = &[
    // Authentication and authorization.
    "validate-azure-ad-token",
    "validate-odata-request",
    "get-authorization-context",
    // Content validation.
    "validate-content",
    "validate-parameters",
    "validate-headers",
    "validate-status-code",
    "validate-graphql-request",
    // Cross-domain.
    "cross-domain",
    "jsonp",
    // External calls, logging and integration.
    "send-service-bus-message",
    "log-to-eventhub",
    "proxy",
    "publish-to-dapr",
    "invoke-dapr-binding",
    "set-graphql-resolver",
    "http-data-source",
    "publish-event",
    "sql-data-source",
    "cosmosdb-data-source",
    // Flow and transformation not yet done.
    "json-to-xml",
    "xml-to-json",
    "xsl-transform",
    "json-rpc",
    "sse",
];

/// AI gateway policies come in families (`azure-openai-token-limit`, `llm-emit-token-metric`,
/// …); any member of a family is an APIM policy.
const FAMILIES: &[&str] = &["azure-openai-", "llm-"];

pub(super) fn is_apim_policy(name: &str) -> bool {
    NOT_YET.contains(&name) || FAMILIES.iter().any(|f| name.starts_with(f))
}
