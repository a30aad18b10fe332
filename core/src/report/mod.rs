//! The reports of kscope's operations: data only, made by the binary's operations and turned
//! into text by the renderers. The check's report is `crate::access::AccessCheck`, the list's
//! rows `crate::grants`, the audit's findings `crate::audit`.

pub mod apply;
pub mod credential;
pub mod fleet;
pub mod revoke;
