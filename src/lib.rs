//! kicer routes circular-economy knowledge questions from Dutch regional
//! governments to the organisations and people who can answer them.
//!
//! # Layout
//!
//! The modules follow the way a question travels:
//!
//! * [`domain`]: the shared vocabulary, parsed once at the edge: categories,
//!   organisation types, provinces, knowledge kinds, validated ids, experts,
//!   the question lifecycle and Dutch working time.
//! * [`analysis`]: from text to terms: folding, tokenising, stop words,
//!   Dutch and English stemming.
//! * [`taxonomy`]: the TOML description of categories, themes, kinds and
//!   providers as weighted terms; a real default is compiled in.
//! * [`index`]: the compiled `fst::Map` of every term of every target with
//!   its postings; phrase walks, compound splitting, typo automaton.
//! * [`engine`]: scoring, classification, matching and explanations over an
//!   immutable index that is swapped atomically on rebuild; scoring runs in
//!   named phases (categories, themes, knowledge kind, providers, experts)
//!   with the fit rules and their bounds side by side.
//! * [`store`]: everything kicer knows, durably: questions with their event
//!   history, the catalog that listings filter, triage queue, lead-time counters, experts, feedback;
//!   the [`store::Store`] trait, the lifecycle as pure functions
//!   ([`store::transition`]) that every backend calls, and the sled
//!   implementation: write queue, key layouts, group commit, queries, and
//!   online backups (`store::backup`: the file format; the sled snapshot
//!   taken while writes go on).
//! * [`learn`]: term weights learned from the core team's triage decisions,
//!   laid over the taxonomy's priors on every index build.
//! * [`similar`]: the in-memory inverted index of stored questions that
//!   finds earlier questions asking the same thing, and the optional
//!   vectors of the semantic path; [`embedding`]: the client of an
//!   external, OpenAI-compatible embedding service that supplies them.
//! * [`service`]: what kicer does for its callers, in domain terms, one
//!   file per concern with its own state: questions (classify, decide with
//!   [`service::RoutingPolicy`], store, announce status events), assignment
//!   (load and capacity), learning, the live directory (providers over the
//!   taxonomy, experts, index rebuilds), similar questions, insights (gaps,
//!   lead times, review dates). Synchronous, no gRPC.
//! * [`auth`]: who may call: configured clients with a role and the
//!   SHA-256 of their bearer token, constant-time authentication, per-client
//!   rate limits, swapped whole on a reload; new tokens.
//! * [`grpc`]: the edge: generated `kicer.v1` code, parsing requests into
//!   domain values, the five services (the fifth, admin, streams
//!   backups), errors mapped to `Status` in one
//!   place, the role table and tenancy (`grpc::access`), and
//!   [`grpc::serve`] with health, reflection, gRPC-Web, TLS and the core
//!   team's triage page (`web/dist`, embedded at build time).
//! * [`config`]: the server's settings (defaults < file < environment <
//!   flags); [`telemetry`]: logs through `tracing`, and the Prometheus
//!   metrics (recorded at the gRPC edge, from the status events and the
//!   store's commits; served on their own listener).
//! * [`eval`]: measuring routing quality on a labelled set.
//! * [`cli`]: the `kicer` command line: `serve`, the core team's client
//!   commands (`cli::remote`, one file per command group, one way to print
//!   a reply as a table or JSON, the edge's conversions reused; `backup`
//!   and `health` among them), `restore`, offline `classify` and `eval`, and `kicer load`, the store's load and
//!   durability tool.
//! * [`synth`]: reproducible synthetic experts for benchmarks and load tests.
//!
//! A request travels grpc → service → engine and store; only `grpc`
//! touches generated types and `tonic::Status` on the server side (the
//! CLI, a gRPC client, uses the generated client and `grpc`'s
//! conversions). Nothing in the engine does I/O: files are read by the command line (and
//! the expert directory by the store), parsed into domain types, and handed
//! in. The store knows nothing of the engine: it keeps a snapshot of what
//! the engine said, with the index version that said it.

#![deny(missing_docs)]

pub mod analysis;
pub mod auth;
pub mod cli;
pub mod config;
pub mod domain;
pub mod embedding;
pub mod engine;
pub mod eval;
pub mod grpc;
pub mod index;
pub mod learn;
pub mod service;
pub mod similar;
pub mod store;
pub mod synth;
pub mod taxonomy;
pub mod telemetry;
