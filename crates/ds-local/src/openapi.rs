//! `GET /api/openapi.yaml`: an OpenAPI 3 document generated from the route table.

use std::collections::BTreeMap;
use std::fmt::Write;

use axum::http::header;
use axum::response::IntoResponse;

use crate::routes::{Access, table};

/// YAML-quotes a string (JSON strings are valid YAML scalars).
fn quote(text: &str) -> String {
    serde_json::to_string(text).expect("strings serialise")
}

/// The document, built from [`table`].
pub fn document() -> String {
    let mut out = String::new();
    out.push_str("openapi: 3.0.3\ninfo:\n  title: ds-local (DialStack platform on one machine)\n");
    let _ = writeln!(out, "  version: {}", quote(env!("CARGO_PKG_VERSION")));
    out.push_str("servers:\n  - url: /\n");
    out.push_str(
        "components:\n  securitySchemes:\n    bearer:\n      type: http\n      scheme: bearer\n      description: \"API key (sk_test_…), account session secret or user token (JWT, EdDSA)\"\n    account:\n      type: apiKey\n      in: header\n      name: DialStack-Account\n",
    );
    out.push_str(
        "  schemas:\n    Error:\n      type: object\n      required: [error]\n      properties:\n        error: {type: string}\n        code: {type: string}\n        details: {type: object}\n",
    );
    out.push_str("paths:\n");
    let mut paths: BTreeMap<&str, Vec<_>> = BTreeMap::new();
    for route in table() {
        paths.entry(route.path).or_default().push(route);
    }
    for (path, routes) in paths {
        let _ = writeln!(out, "  {}:", quote(path));
        for route in routes {
            let method = route.method.as_str().to_ascii_lowercase();
            let operation_id = format!(
                "{method}{}",
                path.split(['/', '{', '}', '.', '-', '_'])
                    .filter(|s| !s.is_empty())
                    .map(capitalise)
                    .collect::<String>()
            );
            let _ = writeln!(out, "    {method}:");
            let _ = writeln!(out, "      operationId: {}", quote(&operation_id));
            let _ = writeln!(out, "      summary: {}", quote(route.summary));
            let _ = writeln!(out, "      tags: [{}]", quote(route.tag));
            let security = match route.access {
                Access::Public => "[]",
                Access::Platform | Access::PlatformOrOwnAccount | Access::User => "[{bearer: []}]",
                Access::Account | Access::AccountOrUser => "[{bearer: [], account: []}, {bearer: []}]",
                Access::AccountKey => "[{bearer: [], account: []}]",
            };
            let _ = writeln!(out, "      security: {security}");
            let params: Vec<&str> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
                .collect();
            if !params.is_empty() {
                out.push_str("      parameters:\n");
                for param in params {
                    let _ = writeln!(
                        out,
                        "        - {{name: {}, in: path, required: true, schema: {{type: string}}}}",
                        quote(param)
                    );
                }
            }
            out.push_str("      responses:\n        \"2XX\":\n          description: Success\n");
            out.push_str(
                "        default:\n          description: Error\n          content:\n            application/json:\n              schema: {$ref: \"#/components/schemas/Error\"}\n",
            );
        }
    }
    out
}

fn capitalise(part: &str) -> String {
    let mut chars = part.chars();
    chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}

pub async fn serve() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/yaml")], document())
}
