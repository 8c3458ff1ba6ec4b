//! The 77 province outlines, fetched once per page load.
//!
//! They are data, not code: compiled into the WASM bundle they made every
//! wall screen download them inside the app at every build. Fetched, they
//! cost one request, and the maps draw as soon as it answers.

use std::sync::Arc;

use leptos::{prelude::*, task::spawn_local};
use pmoc_schemas::geo::Shape;

#[derive(Debug, Clone, Copy)]
struct Provinces(RwSignal<Option<Arc<Vec<Shape>>>>);

/// Called once by the app: starts the fetch and shares its answer.
pub fn provide() {
    let outlines = RwSignal::new(None);
    provide_context(Provinces(outlines));
    spawn_local(async move {
        let got = async {
            crate::api::get("/api/geo/provinces")
                .await?
                .json::<Vec<Shape>>()
                .await
        }
        .await;
        match got {
            Ok(shapes) => outlines.set(Some(Arc::new(shapes))),
            Err(e) => leptos::logging::warn!("province outlines: {e}"),
        }
    });
}

/// The province outlines once fetched (`None` until then).
pub fn provinces() -> RwSignal<Option<Arc<Vec<Shape>>>> {
    expect_context::<Provinces>().0
}
