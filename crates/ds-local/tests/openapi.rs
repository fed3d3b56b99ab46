//! `/api/openapi.yaml` lists every route the router serves, and the router serves every route
//! the document lists.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::Platform;

#[tokio::test]
async fn every_route_of_the_router_is_in_the_openapi_document() {
    let platform = Platform::new().await;
    let reply = platform.call(Method::GET, "/api/openapi.yaml", None, None, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers["content-type"], "application/yaml");
    let document = reply.text;
    assert!(document.starts_with("openapi: 3.0.3\n"));
    let routes = ds_local::routes::table();
    assert!(routes.len() >= 30, "the table holds the whole surface");
    for route in &routes {
        let path_line = format!("\n  {}:\n", serde_json::to_string(route.path).unwrap());
        let start =
            document.find(&path_line).unwrap_or_else(|| panic!("{} missing from the document", route.path));
        let section_end = document[start + path_line.len()..]
            .find("\n  \"")
            .map_or(document.len(), |i| start + path_line.len() + i);
        let method_line = format!("\n    {}:\n", route.method.as_str().to_ascii_lowercase());
        assert!(
            document[start..section_end].contains(&method_line),
            "{} {} missing from the document",
            route.method,
            route.path
        );
    }
    // The document lists nothing else.
    let documented_operations = document.matches("      operationId: ").count();
    assert_eq!(documented_operations, routes.len());
}

#[tokio::test]
async fn every_documented_route_is_served() {
    let platform = Platform::new().await;
    for route in ds_local::routes::table() {
        let path = route.path.replace("{id}", "x_1");
        let request = Request::builder().method(route.method.clone()).uri(&path).body(Body::empty()).unwrap();
        let reply = platform.send(request).await;
        assert_ne!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{} {path}", route.method);
        if reply.status == StatusCode::NOT_FOUND {
            assert_ne!(reply.body["code"], "route_not_found", "{} {path} is not routed", route.method);
        }
    }
}
