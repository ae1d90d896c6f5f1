//! `kicer.v1.DirectoryService`.

use super::convert::{self, bad};
use super::limits::{self, MAX_PROVIDERS};
use super::proto;
use super::proto::directory_service_server::DirectoryService;
use super::status::{blocking, refused};
use super::Api;
use tonic::{Response, Status};
use tracing::instrument;

type Reply<T> = Result<Response<T>, Status>;

/// Most experts one import call may carry.
pub const MAX_IMPORT: usize = 5_000;
/// Default and largest page of the expert listing.
const EXPERT_PAGE: (usize, usize) = (100, 1_000);
/// Largest expert page, encoded: a page is cut short (AIP-158 allows
/// fewer than `page_size`) before it passes the 4 MiB clients accept.
const EXPERT_PAGE_BYTES: usize = 3 * 1024 * 1024;

/// A required id, refused before any lookup when it is too long.
fn required_id(field: &'static str, id: &str) -> Result<String, Status> {
    limits::id(field, id)?;
    match id.trim() {
        "" => Err(bad(field, "is required").into()),
        id => Ok(id.to_string()),
    }
}

/// Expert page tokens wrap the last id seen, so callers treat them as
/// opaque (AIP-158) and a token of another listing is recognised.
fn expert_token(last: &str) -> String {
    format!(
        "x{}",
        last.bytes().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

fn parse_expert_token(token: &str) -> Result<Option<String>, Status> {
    let token = token.trim();
    if token.is_empty() {
        return Ok(None);
    }
    let invalid = || {
        bad(
            "page_token",
            "is not a token of this listing: start again without a page token",
        )
    };
    let hex = token.strip_prefix('x').ok_or_else(invalid)?;
    if hex.len() % 2 != 0 {
        return Err(invalid().into());
    }
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| invalid())?;
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| invalid().into())
}

/// The page cut to at most [`EXPERT_PAGE_BYTES`] encoded (at least one
/// expert, so the listing always advances), and the id to continue after.
fn within_budget(
    mut experts: Vec<proto::Expert>,
    next: Option<String>,
) -> (Vec<proto::Expert>, Option<String>) {
    use prost::Message;
    let mut total = 0;
    let fits = experts
        .iter()
        .position(|e| {
            total += e.encoded_len();
            total > EXPERT_PAGE_BYTES
        })
        .map(|over| over.max(1));
    match fits {
        Some(keep) if keep < experts.len() => {
            experts.truncate(keep);
            let last = experts.last().map(|e| e.id.clone());
            (experts, last)
        }
        _ => (experts, next),
    }
}

impl Api {
    /// Create (`create`) or update a provider and say which index has it.
    async fn put_provider(
        &self,
        provider: Option<proto::Provider>,
        create: bool,
    ) -> Reply<proto::Provider> {
        let provider = provider.ok_or_else(|| bad("provider", "is required"))?;
        limits::provider(&provider)?;
        if create && self.service.providers()?.len() >= MAX_PROVIDERS {
            return Err(refused(
                tonic::Code::FailedPrecondition,
                format!("the directory holds {MAX_PROVIDERS} providers, the most it can: remove one first"),
            ));
        }
        let record = convert::provider_record(Some(provider))?;
        let service = self.service.clone();
        let (record, version) = blocking(move || service.put_provider(record, create)).await?;
        tracing::info!(provider = %record.id, index_version = version, create, "provider stored");
        Ok(Response::new(convert::provider(&record)))
    }

    /// Create (`create`) or update an expert and say which index has it.
    async fn put_expert(
        &self,
        expert: Option<proto::Expert>,
        create: bool,
    ) -> Reply<proto::Expert> {
        let expert = expert.ok_or_else(|| bad("expert", "is required"))?;
        limits::expert(&expert)?;
        let record = convert::expert_record(expert)?;
        let service = self.service.clone();
        let (record, version) = blocking(move || service.put_expert(record, create)).await?;
        tracing::info!(expert = %record.id, index_version = version, create, "expert stored");
        Ok(Response::new(convert::expert(&record)))
    }
}

#[tonic::async_trait]
impl DirectoryService for Api {
    #[instrument(skip_all, fields(method = "CreateProvider"))]
    async fn create_provider(
        &self,
        request: tonic::Request<proto::CreateProviderRequest>,
    ) -> Reply<proto::Provider> {
        self.put_provider(request.into_inner().provider, true).await
    }

    #[instrument(skip_all, fields(method = "UpdateProvider"))]
    async fn update_provider(
        &self,
        request: tonic::Request<proto::UpdateProviderRequest>,
    ) -> Reply<proto::Provider> {
        self.put_provider(request.into_inner().provider, false)
            .await
    }

    #[instrument(skip_all, fields(method = "GetProvider"))]
    async fn get_provider(
        &self,
        request: tonic::Request<proto::GetProviderRequest>,
    ) -> Reply<proto::Provider> {
        let id = required_id("id", &request.get_ref().id)?;
        let record = self.service.provider(&id)?;
        Ok(Response::new(convert::provider(&record)))
    }

    #[instrument(skip_all, fields(method = "ListProviders"))]
    async fn list_providers(
        &self,
        _request: tonic::Request<proto::ListProvidersRequest>,
    ) -> Reply<proto::ListProvidersResponse> {
        Ok(Response::new(proto::ListProvidersResponse {
            providers: self
                .service
                .providers()?
                .iter()
                .map(convert::provider)
                .collect(),
        }))
    }

    #[instrument(skip_all, fields(method = "DeleteProvider"))]
    async fn delete_provider(
        &self,
        request: tonic::Request<proto::DeleteProviderRequest>,
    ) -> Reply<()> {
        let id = required_id("id", &request.get_ref().id)?;
        let service = self.service.clone();
        let version = blocking(move || service.delete_provider(&id)).await?;
        tracing::info!(index_version = version, "provider deleted");
        Ok(Response::new(()))
    }

    #[instrument(skip_all, fields(method = "CreateExpert"))]
    async fn create_expert(
        &self,
        request: tonic::Request<proto::CreateExpertRequest>,
    ) -> Reply<proto::Expert> {
        self.put_expert(request.into_inner().expert, true).await
    }

    #[instrument(skip_all, fields(method = "UpdateExpert"))]
    async fn update_expert(
        &self,
        request: tonic::Request<proto::UpdateExpertRequest>,
    ) -> Reply<proto::Expert> {
        self.put_expert(request.into_inner().expert, false).await
    }

    #[instrument(skip_all, fields(method = "GetExpert"))]
    async fn get_expert(
        &self,
        request: tonic::Request<proto::GetExpertRequest>,
    ) -> Reply<proto::Expert> {
        let id = required_id("id", &request.get_ref().id)?;
        let service = self.service.clone();
        let record = blocking(move || service.expert(&id)).await?;
        Ok(Response::new(convert::expert(&record)))
    }

    #[instrument(skip_all, fields(method = "ListExperts"))]
    async fn list_experts(
        &self,
        request: tonic::Request<proto::ListExpertsRequest>,
    ) -> Reply<proto::ListExpertsResponse> {
        let r = request.into_inner();
        let size = convert::page_size(r.page_size, EXPERT_PAGE.0, EXPERT_PAGE.1)?;
        let after = parse_expert_token(&r.page_token)?;
        let service = self.service.clone();
        let (page, next) = blocking(move || service.experts(after.as_deref(), size)).await?;
        let (experts, next) = within_budget(page.iter().map(convert::expert).collect(), next);
        Ok(Response::new(proto::ListExpertsResponse {
            experts,
            next_page_token: next.as_deref().map(expert_token).unwrap_or_default(),
        }))
    }

    #[instrument(skip_all, fields(method = "DeleteExpert"))]
    async fn delete_expert(
        &self,
        request: tonic::Request<proto::DeleteExpertRequest>,
    ) -> Reply<()> {
        let id = required_id("id", &request.get_ref().id)?;
        let service = self.service.clone();
        let version = blocking(move || service.delete_expert(&id)).await?;
        tracing::info!(index_version = version, "expert deleted");
        Ok(Response::new(()))
    }

    #[instrument(skip_all, fields(method = "ImportExperts"))]
    async fn import_experts(
        &self,
        request: tonic::Request<proto::ImportExpertsRequest>,
    ) -> Reply<proto::ImportExpertsResponse> {
        let experts = request.into_inner().experts;
        if experts.len() > MAX_IMPORT {
            return Err(bad(
                "experts",
                format!(
                    "{} experts in one call, more than {MAX_IMPORT}: send the file in chunks",
                    experts.len()
                ),
            )
            .into());
        }
        let records = experts
            .into_iter()
            .enumerate()
            .map(|(n, e)| {
                limits::expert(&e).map_err(|why| {
                    bad("experts", format!("expert {} of the import: {why}", n + 1))
                })?;
                convert::expert_record(e)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let service = self.service.clone();
        let (created, updated, index_version) =
            blocking(move || service.import_experts(records)).await?;
        tracing::info!(created, updated, index_version, "experts imported");
        Ok(Response::new(proto::ImportExpertsResponse {
            created,
            updated,
            index_version,
        }))
    }

    #[instrument(skip_all, fields(method = "SetExpertAvailability"))]
    async fn set_expert_availability(
        &self,
        request: tonic::Request<proto::SetExpertAvailabilityRequest>,
    ) -> Reply<proto::Expert> {
        let r = request.into_inner();
        let id = required_id("id", &r.id)?;
        let service = self.service.clone();
        let (record, version) =
            blocking(move || service.set_availability(&id, r.available)).await?;
        tracing::info!(expert = %record.id, available = record.available, index_version = version, "availability set");
        Ok(Response::new(convert::expert(&record)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expert_tokens_round_trip_and_foreign_tokens_are_refused() {
        assert_eq!(
            parse_expert_token(&expert_token("anna-jansen")).unwrap(),
            Some("anna-jansen".into())
        );
        assert_eq!(parse_expert_token("").unwrap(), None);
        for foreign in ["abc", "x1", "xzz"] {
            assert!(parse_expert_token(foreign).is_err(), "{foreign}");
        }
    }

    #[test]
    fn a_page_of_large_experts_is_cut_before_the_byte_budget_and_continues() {
        let expert = |id: &str, bytes: usize| proto::Expert {
            id: id.into(),
            name: "x".repeat(bytes),
            ..Default::default()
        };
        let page = |bytes| {
            ["a", "b", "c", "d", "e"]
                .map(|id| expert(id, bytes))
                .to_vec()
        };
        let (kept, next) = within_budget(page(1_000_000), Some("e".into()));
        assert_eq!(kept.len(), 3);
        assert_eq!(next.as_deref(), Some("c"));
        let (kept, next) = within_budget(page(10), Some("e".into()));
        assert_eq!((kept.len(), next.as_deref()), (5, Some("e")));
        let (kept, next) = within_budget(vec![expert("a", 4_000_000)], None);
        assert_eq!((kept.len(), next), (1, None));
    }
}
