//! Compiles `proto/kicer/v1/*.proto` into Rust with `protox` (pure Rust, so
//! no system `protoc` is needed) and writes the encoded descriptor set that
//! server reflection serves.

use std::path::PathBuf;

const PROTOS: [&str; 6] = [
    "proto/kicer/v1/common.proto",
    "proto/kicer/v1/questions.proto",
    "proto/kicer/v1/triage.proto",
    "proto/kicer/v1/directory.proto",
    "proto/kicer/v1/insights.proto",
    "proto/kicer/v1/admin.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let fds = protox::compile(PROTOS, ["proto"])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("kicer_descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}
