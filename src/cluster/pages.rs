//! Lists read page by page, for `check -f` over a fleet: each page is handed to the caller
//! and dropped, so that thousands of objects are never held at once.

use std::fmt::Debug;

use kube::Resource;
use kube::api::{Api, ListParams};
use serde::de::DeserializeOwned;

use super::{Cluster, kind};
use crate::error::{Error, Result};
use crate::wire::idempotent;

/// Objects per list request: the API server's own default limit for paged clients.
const PAGE: u32 = 500;

impl Cluster {
    /// Every object of kind `K` the caller can list, in all namespaces (or cluster-wide), one
    /// page of at most 500 at a time, each given to `each`.
    pub(crate) async fn each_page<K>(&self, mut each: impl FnMut(Vec<K>)) -> Result<()>
    where
        K: Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned,
    {
        let api = Api::<K>::all(self.client.clone());
        let mut next: Option<String> = None;
        loop {
            let mut params = ListParams::default().limit(PAGE);
            if let Some(token) = &next {
                params = params.continue_token(token);
            }
            let page = idempotent(|| api.list(&params))
                .await
                .map_err(|e| Error::api(format!("list {}s", kind::<K>()), e))?;
            next = page.metadata.continue_.clone().filter(|t| !t.is_empty());
            each(page.items);
            if next.is_none() {
                return Ok(());
            }
        }
    }
}
