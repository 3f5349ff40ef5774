//! The intermediate representation. Specs are lowered into it by [`crate::lower`], which
//! applies every semantic rule during the same walk.

pub mod enums;
pub mod types;

pub use enums::*;
pub use types::*;
