//! `GET /v1/openapi.json`: an OpenAPI 3.1 document listing every operation, each of which is routed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod http_support;

use aigis_http::server::openapi::OPERATIONS;
use http_support::{TestServer, json, options};

#[tokio::test]
async fn the_document_lists_every_operation_and_each_is_routed() {
    let s = TestServer::start(options()).await;
    let (status, doc) = json(s.get("/v1/openapi.json").send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["components"]["schemas"]["Event"].is_object());
    for (method, path, ..) in OPERATIONS {
        assert!(doc["paths"][path][method].is_object(), "{method} {path} documented");
        let url = s.url(&path.replace("{id}", "x").replace("{message_id}", "y"));
        let resp = s.client.request(method.to_uppercase().parse().unwrap(), url).send().await.unwrap();
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap();
        // An unrouted path is axum's bare 404/405; every routed one answers in the API's shapes.
        assert_ne!(status, 405, "{method} {path}");
        assert!(!(status == 404 && body.is_empty()), "{method} {path} is not routed");
    }
}
