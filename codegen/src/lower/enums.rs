//! Spec values as IR values: one exhaustive match per value set, so a value added on one side
//! and not the other does not compile.

use crate::ir;
use crate::spec::types as spec;

impl From<spec::ContentType> for ir::ContentType {
    fn from(v: spec::ContentType) -> Self {
        match v {
            spec::ContentType::Image => ir::ContentType::Image,
            spec::ContentType::Video => ir::ContentType::Video,
            spec::ContentType::Audio => ir::ContentType::Audio,
            spec::ContentType::Text => ir::ContentType::Text,
        }
    }
}

impl From<spec::ItemType> for ir::ItemType {
    fn from(v: spec::ItemType) -> Self {
        match v {
            spec::ItemType::String => ir::ItemType::String,
            spec::ItemType::ImageUrl => ir::ItemType::ImageUrl,
        }
    }
}

impl From<spec::RoundMode> for ir::RoundMode {
    fn from(v: spec::RoundMode) -> Self {
        match v {
            spec::RoundMode::Ceil => ir::RoundMode::Ceil,
            spec::RoundMode::Floor => ir::RoundMode::Floor,
            spec::RoundMode::HalfUp => ir::RoundMode::HalfUp,
            spec::RoundMode::HalfEven => ir::RoundMode::HalfEven,
        }
    }
}

impl From<spec::ExecutionMode> for ir::ExecutionMode {
    fn from(v: spec::ExecutionMode) -> Self {
        match v {
            spec::ExecutionMode::Sync => ir::ExecutionMode::Sync,
            spec::ExecutionMode::Poll => ir::ExecutionMode::Poll,
            spec::ExecutionMode::Webhook => ir::ExecutionMode::Webhook,
        }
    }
}

impl From<spec::HttpMethod> for ir::HttpMethod {
    fn from(v: spec::HttpMethod) -> Self {
        match v {
            spec::HttpMethod::Get => ir::HttpMethod::Get,
            spec::HttpMethod::Post => ir::HttpMethod::Post,
            spec::HttpMethod::Put => ir::HttpMethod::Put,
        }
    }
}

impl From<spec::OutputKind> for ir::OutputKind {
    fn from(v: spec::OutputKind) -> Self {
        match v {
            spec::OutputKind::Url => ir::OutputKind::Url,
            spec::OutputKind::DataUrl => ir::OutputKind::DataUrl,
            spec::OutputKind::Base64 => ir::OutputKind::Base64,
            spec::OutputKind::Text => ir::OutputKind::Text,
        }
    }
}

impl From<spec::TaskStatus> for ir::TaskStatus {
    fn from(v: spec::TaskStatus) -> Self {
        match v {
            spec::TaskStatus::Pending => ir::TaskStatus::Pending,
            spec::TaskStatus::Processing => ir::TaskStatus::Processing,
            spec::TaskStatus::Completed => ir::TaskStatus::Completed,
            spec::TaskStatus::Failed => ir::TaskStatus::Failed,
            spec::TaskStatus::Done => ir::TaskStatus::Done,
        }
    }
}

impl From<spec::SignatureScheme> for ir::SignatureScheme {
    fn from(v: spec::SignatureScheme) -> Self {
        match v {
            spec::SignatureScheme::None => ir::SignatureScheme::None,
            spec::SignatureScheme::UrlToken => ir::SignatureScheme::UrlToken,
            spec::SignatureScheme::StandardWebhooks => ir::SignatureScheme::StandardWebhooks,
            spec::SignatureScheme::KieHmac => ir::SignatureScheme::KieHmac,
            spec::SignatureScheme::FalEd25519 => ir::SignatureScheme::FalEd25519,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Serialize;

    use super::*;

    /// Every spec value and the IR value it lowers to have one spelling.
    #[test]
    fn spec_and_ir_values_are_spelled_alike() {
        fn same<S: Serialize + Copy, I: Serialize + From<S>>(values: &[S]) {
            for v in values {
                assert_eq!(
                    serde_json::to_value(v).unwrap(),
                    serde_json::to_value(I::from(*v)).unwrap()
                );
            }
        }
        use spec::*;
        same::<_, ir::ContentType>(&[
            ContentType::Image,
            ContentType::Video,
            ContentType::Audio,
            ContentType::Text,
        ]);
        same::<_, ir::ItemType>(&[ItemType::String, ItemType::ImageUrl]);
        same::<_, ir::RoundMode>(&[
            RoundMode::Ceil,
            RoundMode::Floor,
            RoundMode::HalfUp,
            RoundMode::HalfEven,
        ]);
        same::<_, ir::ExecutionMode>(&[
            ExecutionMode::Sync,
            ExecutionMode::Poll,
            ExecutionMode::Webhook,
        ]);
        same::<_, ir::HttpMethod>(&[HttpMethod::Get, HttpMethod::Post, HttpMethod::Put]);
        same::<_, ir::OutputKind>(&[
            OutputKind::Url,
            OutputKind::DataUrl,
            OutputKind::Base64,
            OutputKind::Text,
        ]);
        same::<_, ir::TaskStatus>(&[
            TaskStatus::Pending,
            TaskStatus::Processing,
            TaskStatus::Completed,
            TaskStatus::Failed,
            TaskStatus::Done,
        ]);
        same::<_, ir::SignatureScheme>(&[
            SignatureScheme::None,
            SignatureScheme::UrlToken,
            SignatureScheme::StandardWebhooks,
            SignatureScheme::KieHmac,
            SignatureScheme::FalEd25519,
        ]);
    }
}
