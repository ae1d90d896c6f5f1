//! The directory commands (`DirectoryService`): the providers routing uses
//! and the expert directory, including importing experts from a JSON,
//! JSON Lines or CSV file.

use super::json;
use super::render::{clip, Message, Table};
use super::{reply, Session};
use crate::domain::{ExpertRecord, OrganizationType};
use crate::grpc::convert::{self, organization_type_to_proto};
use crate::grpc::proto;
use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// Expert directory commands.
#[derive(Debug, Subcommand)]
pub enum ExpertsCommand {
    /// List the experts.
    List,
    /// Add one expert.
    Add(AddExpertArgs),
    /// Add or replace experts from a JSON array, JSON Lines or CSV file.
    Import {
        /// The file (.json, .jsonl or .csv; CSV columns: id, name,
        /// organization, organization_type, region, expertise
        /// (`term:weight;term`), themes (`a;b`), categories, capacity,
        /// available).
        file: PathBuf,
    },
    /// Remove an expert.
    Remove {
        /// The expert id.
        id: String,
    },
    /// Set whether an expert takes questions now.
    Availability {
        /// The expert id.
        id: String,
        /// on or off.
        #[arg(value_parser = ["on", "off"])]
        state: String,
    },
}

/// Options of `kicer experts add`.
#[derive(Debug, Args)]
pub struct AddExpertArgs {
    /// Id, a slug such as anna-jansen.
    #[arg(long)]
    pub id: String,
    /// Display name.
    #[arg(long)]
    pub name: String,
    /// Organisation.
    #[arg(long = "org", default_value = "")]
    pub organization: String,
    /// Organisation type.
    #[arg(long, default_value = "OTHER")]
    pub org_type: OrganizationType,
    /// Province.
    #[arg(long)]
    pub region: Option<String>,
    /// Expertise terms, comma separated (`term` or `term:weight`).
    #[arg(long, value_delimiter = ',')]
    pub terms: Vec<String>,
    /// Theme ids, comma separated.
    #[arg(long, value_delimiter = ',')]
    pub themes: Vec<String>,
    /// Open questions at once.
    #[arg(long, default_value_t = 3)]
    pub capacity: u32,
}

/// Experts per import call: well under the server's limit and small enough
/// for the progress bar to move.
const IMPORT_CHUNK: usize = 1_000;

/// `kicer providers`: the providers routing uses now.
pub(super) async fn providers(s: &mut Session) -> anyhow::Result<()> {
    let list = reply(
        s.directory
            .list_providers(proto::ListProvidersRequest {})
            .await,
    )?
    .providers;
    s.print(&Table::new(
        &list,
        &["ID", "NAME", "THEMES", "REGIONS"],
        |p| {
            vec![
                p.id.clone(),
                p.name.clone(),
                p.themes.join(", "),
                p.regions.join(", "),
            ]
        },
        json::provider,
    ));
    Ok(())
}

/// `kicer experts …`.
pub(super) async fn experts(s: &mut Session, command: ExpertsCommand) -> anyhow::Result<()> {
    match command {
        ExpertsCommand::List => list(s).await,
        ExpertsCommand::Add(a) => add(s, a).await,
        ExpertsCommand::Import { file } => import(s, file).await,
        ExpertsCommand::Remove { id } => remove(s, id).await,
        ExpertsCommand::Availability { id, state } => availability(s, id, state == "on").await,
    }
}

/// `kicer experts list`: every expert, following pages.
async fn list(s: &mut Session) -> anyhow::Result<()> {
    let mut all = Vec::new();
    let mut token = String::new();
    loop {
        let page = reply(
            s.directory
                .list_experts(proto::ListExpertsRequest {
                    page_size: 1000,
                    page_token: token,
                })
                .await,
        )?;
        all.extend(page.experts);
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    s.print(&experts_table(&all));
    Ok(())
}

/// The expert list view: one row per expert.
pub(super) fn experts_table(experts: &[proto::Expert]) -> Table<'_, proto::Expert> {
    Table::new(
        experts,
        &[
            "ID",
            "NAME",
            "ORGANISATION",
            "REGION",
            "CAPACITY",
            "AVAILABLE",
            "THEMES",
        ],
        |e| {
            vec![
                e.id.clone(),
                e.name.clone(),
                e.organization.clone(),
                e.region.clone(),
                e.capacity.to_string(),
                if e.available.unwrap_or(true) {
                    "yes".into()
                } else {
                    "no".into()
                },
                clip(&e.themes.join(", "), 40),
            ]
        },
        json::expert,
    )
}

/// `kicer experts add`.
async fn add(s: &mut Session, a: AddExpertArgs) -> anyhow::Result<()> {
    let expertise = a
        .terms
        .iter()
        .filter(|t| !t.trim().is_empty())
        .map(|t| weighted(t))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let expert = proto::Expert {
        id: a.id,
        name: a.name,
        organization: a.organization,
        organization_type: organization_type_to_proto(a.org_type),
        region: a.region.unwrap_or_default(),
        expertise,
        themes: a.themes,
        categories: Vec::new(),
        capacity: a.capacity,
        available: Some(true),
        absences: Vec::new(),
    };
    let e = reply(
        s.directory
            .create_expert(proto::CreateExpertRequest {
                expert: Some(expert),
            })
            .await,
    )?;
    s.print(&Message {
        text: format!(
            "added expert {} ({}); routing uses them from now on",
            e.id, e.name
        ),
        json: Some(json::expert(&e)),
    });
    Ok(())
}

/// `kicer experts import`: checks the whole file first, then sends it in
/// chunks with a progress bar.
async fn import(s: &mut Session, file: PathBuf) -> anyhow::Result<()> {
    let records = read_experts(&file)?;
    let bar = crate::cli::output::progress(
        Some(records.len() as u64),
        "{bar:40} {pos}/{len} experts ({eta} left)",
        s.json,
    );
    let (mut created, mut updated, mut version) = (0, 0, 0);
    for chunk in records.chunks(IMPORT_CHUNK) {
        let r = s
            .directory
            .import_experts(proto::ImportExpertsRequest {
                experts: chunk.iter().map(convert::expert).collect(),
            })
            .await
            .map_err(|status| {
                super::failure(status).context(format!(
                    "import stopped after {} of {} experts (those are stored)",
                    created + updated,
                    records.len()
                ))
            })?
            .into_inner();
        created += r.created;
        updated += r.updated;
        version = r.index_version;
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    s.print(&Message {
        text: format!(
            "imported {} experts: {created} new, {updated} replaced; index version {version}",
            records.len()
        ),
        json: Some(
            serde_json::json!({"created": created, "updated": updated, "index_version": version}),
        ),
    });
    Ok(())
}

/// `kicer experts remove`: says nothing with `--json` (the exit status
/// does).
async fn remove(s: &mut Session, id: String) -> anyhow::Result<()> {
    reply(
        s.directory
            .delete_expert(proto::DeleteExpertRequest { id: id.clone() })
            .await,
    )?;
    s.print(&Message {
        text: format!("removed expert {id}"),
        json: None,
    });
    Ok(())
}

/// `kicer experts availability`.
async fn availability(s: &mut Session, id: String, available: bool) -> anyhow::Result<()> {
    let e = reply(
        s.directory
            .set_expert_availability(proto::SetExpertAvailabilityRequest { id, available })
            .await,
    )?;
    let state = if e.available.unwrap_or(true) {
        "available"
    } else {
        "not available"
    };
    s.print(&Message {
        text: format!("{} is {state}", e.id),
        json: Some(json::expert(&e)),
    });
    Ok(())
}

/// An expertise term on the command line: `term` (weight 1) or
/// `term:weight`.
fn weighted(text: &str) -> anyhow::Result<proto::WeightedTerm> {
    let (term, weight) = match text.rsplit_once(':') {
        Some((t, w)) => (
            t.trim(),
            w.trim()
                .parse::<f32>()
                .with_context(|| format!("weight of `{t}` is not a number: write term:2.5"))?,
        ),
        None => (text.trim(), 1.0),
    };
    Ok(proto::WeightedTerm {
        term: term.to_string(),
        weight,
    })
}

/// Reads an expert file: JSON array, JSON Lines, or CSV with a header.
/// Problems name the line.
pub fn read_experts(path: &std::path::Path) -> anyhow::Result<Vec<ExpertRecord>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read expert file {}", path.display()))?;
    let is_csv = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let records = if is_csv {
        experts_from_csv(&text)
    } else {
        crate::domain::parse_expert_records(&text).map_err(|e| anyhow::anyhow!(e))
    }
    .with_context(|| format!("in {}", path.display()))?;
    // Check every record here, so a mistake is reported with its place in
    // the file before anything is sent (the wire format would turn an
    // unknown organisation type into OTHER).
    let data_line = if is_csv { 2 } else { 1 };
    for (n, r) in records.iter().enumerate() {
        crate::domain::Expert::try_from(r.clone()).map_err(|e| {
            anyhow::anyhow!(
                "{}: record {} (line {}): {e}",
                path.display(),
                n + 1,
                n + data_line
            )
        })?;
    }
    Ok(records)
}

/// Experts from CSV with a header line; columns are found by name, so
/// their order is free and only id and name are required.
fn experts_from_csv(text: &str) -> anyhow::Result<Vec<ExpertRecord>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .context("the CSV file has no header line")?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(id), Some(name)) = (col("id"), col("name")) else {
        bail!(
            "the CSV header needs at least the columns id and name (found: {})",
            headers.iter().collect::<Vec<_>>().join(", ")
        );
    };
    let list = |s: &str| -> Vec<String> {
        s.split(';')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(String::from)
            .collect()
    };
    let mut out = Vec::new();
    for (n, row) in reader.records().enumerate() {
        let line = n + 2;
        let row = row.with_context(|| format!("line {line}"))?;
        let get = |c: Option<usize>| c.and_then(|c| row.get(c)).unwrap_or("").to_string();
        let mut expertise = std::collections::BTreeMap::new();
        for t in list(&get(col("expertise"))) {
            let w = weighted(&t).with_context(|| format!("line {line}"))?;
            expertise.insert(w.term, w.weight);
        }
        let capacity = match get(col("capacity")).as_str() {
            "" => 3,
            c => c
                .parse()
                .with_context(|| format!("line {line}: capacity `{c}` is not a whole number"))?,
        };
        let available = match get(col("available")).to_ascii_lowercase().as_str() {
            "" | "true" | "yes" | "ja" | "1" => true,
            "false" | "no" | "nee" | "0" => false,
            other => bail!("line {line}: available `{other}` is not yes or no"),
        };
        out.push(ExpertRecord {
            id: get(Some(id)),
            name: get(Some(name)),
            organization: get(col("organization")),
            organization_type: match get(col("organization_type")).as_str() {
                "" => "OTHER".into(),
                t => t.to_string(),
            },
            region: Some(get(col("region"))).filter(|r| !r.is_empty()),
            expertise: crate::domain::Expertise::Weighted(expertise),
            themes: list(&get(col("themes"))),
            categories: list(&get(col("categories"))),
            capacity,
            available,
            absences: Vec::new(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_experts_parse_lists_weights_and_defaults() {
        let csv = "id,name,expertise,themes,capacity,available\nanna,Anna,circulair inkopen:2;hout,inkoop;bouw,,nee\n";
        let e = experts_from_csv(csv).unwrap();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].themes, vec!["inkoop", "bouw"]);
        assert_eq!(e[0].capacity, 3);
        assert!(!e[0].available);
        match &e[0].expertise {
            crate::domain::Expertise::Weighted(m) => {
                assert_eq!(m.get("circulair inkopen"), Some(&2.0));
                assert_eq!(m.get("hout"), Some(&1.0));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn csv_mistakes_name_the_line() {
        let csv = "id,name,capacity\nanna,Anna,lots\n";
        let err = format!("{:#}", experts_from_csv(csv).unwrap_err());
        assert!(err.contains("line 2"), "{err}");
        assert!(experts_from_csv("naam\nx\n").is_err());
    }
}
