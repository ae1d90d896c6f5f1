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

/// The built triage page, embedded in the binary (`src/grpc/page.rs`).
const WEB_DIST: &str = "web/dist";

/// Writes `web_assets.rs`: every file of `web/dist/` as `(name, bytes)`,
/// and an ETag that changes when any of them does (FNV-1a over names and
/// contents: a cache validator, not a checksum anyone relies on).
fn embed_web(out: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed={WEB_DIST}");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(WEB_DIST);
    let mut files = Vec::new();
    let mut pending = vec![root.clone()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue; // no web/dist: a build without the page
        };
        for entry in entries {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut table = String::from(
        "/// Every file of web/dist: name, bytes.\npub static ASSETS: &[(&str, &[u8])] = &[\n",
    );
    for path in &files {
        let name = path
            .strip_prefix(&root)?
            .to_string_lossy()
            .replace('\\', "/");
        for b in name.bytes().chain(std::fs::read(path)?) {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        table.push_str(&format!(
            "    ({name:?}, include_bytes!({:?})),\n",
            path.display().to_string()
        ));
    }
    table.push_str("];\n");
    table.push_str(&format!(
        "/// Changes when any file does.\npub const ETAG: &str = \"\\\"{hash:016x}\\\"\";\n"
    ));
    std::fs::write(out.join("web_assets.rs"), table)?;
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let fds = protox::compile(PROTOS, ["proto"])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    embed_web(&out)?;
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
